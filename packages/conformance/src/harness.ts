import type { Transport } from '@conveyor/core/transport';

/** A TCP address, e.g. the broker the fault proxy forwards to. */
export interface Endpoint {
  host: string;
  port: number;
}

/** What the suite asks of the transport under test, per call of `createTransport`. */
export interface TransportFactoryOptions {
  /**
   * Connect here instead of the broker's own address. Given only to cases that cut connections:
   * it is the suite's fault proxy in front of `harness.upstream`.
   */
  endpoint?: Endpoint;
  /** Use this visibility timeout (ms) where the transport has one; cases that test it pass a short one. */
  visibilityTimeoutMs?: number;
}

/**
 * How the suite reaches a transport. Only `name` and `createTransport` are required; each optional
 * hook enables more cases, and a missing one shows as a skip with its reason in the report.
 */
export interface ConformanceHarness {
  /** Shown in test names and the report, e.g. `redis (single node)`. */
  name: string;
  /**
   * Returns a NEW, unconnected transport (a new "connection") to the same broker each call. The
   * suite connects and closes it. Two transports from here must see the same queues.
   */
  createTransport(options: TransportFactoryOptions): Transport | Promise<Transport>;
  /**
   * Writes raw bytes to a queue exactly as the broker would hold them (bypassing encoding), to
   * prove that undecodable payloads are dead-lettered. Enables DLQ-02, DLQ-03 and DLQ-04.
   */
  publishRaw?(queue: string, bytes: Uint8Array): Promise<void>;
  /**
   * What `publishRaw` can write unchanged. `binary` (the default): any bytes. `text`: only UTF-8
   * text of the characters the broker's bodies accept (SQS bodies are Unicode text); DLQ-04, which
   * writes bytes that are not UTF-8, is then skipped with that reason.
   */
  rawPayloads?: 'binary' | 'text';
  /** The broker's TCP address. Enables the fault-proxy cases (RCN-*): transports get `endpoint`. */
  upstream?: Endpoint;
  /** Turns a case's queue name into one the broker accepts (SQS FIFO needs `.fifo`, say). */
  queueName?(base: string): string;
  /** Multiplies message counts (default 1; PUB-01 sends 10,000 at 1). */
  scale?: number;
  /**
   * How long a case waits for something that must eventually happen before failing. Default
   * 30,000 ms; raise it for slow brokers, lower it only for in-process tests of the suite itself.
   */
  patienceMs?: number;
  /**
   * Called after each case to delete what it created. `queues` is every queue name the case used,
   * dead-letter queues included: each queue comes with its default `<queue>.dlq`, and a
   * dead-letter queue declared under another name is in the list under that name. A name may
   * never have been created (a queue that was never declared, or a dead-letter queue nothing was
   * rejected to): ignore those. A failure here is ignored; it does not fail the case.
   */
  cleanup?(queues: readonly string[]): Promise<void>;
}
