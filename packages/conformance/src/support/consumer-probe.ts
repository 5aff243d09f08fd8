import type { Delivery, Transport } from '@conveyor/core/transport';
import { idOf } from './probe-message.js';
import { recordTransportError } from './reported-errors.js';
import { waitUntil } from './wait.js';

/** What the probe does with each delivery. */
export type SettleMode = 'ack' | 'hold' | ((delivery: Delivery, probe: ConsumerProbe) => void);

/**
 * A consumer that records everything it is handed: ids in order, delivery counts, and how many
 * deliveries it holds unsettled (to check the prefetch bound). It passes `onError` to `consume`
 * and keeps what the transport reports there, so that a failing case can quote the transport's
 * own words (the case runner adds them to the failure reason).
 */
export class ConsumerProbe {
  readonly deliveries: Delivery[] = [];
  readonly seen = new Set<string>();
  readonly acked = new Set<string>();
  /** Settle errors of fire-and-forget acks (e.g. after the connection closed), kept for inspection. */
  readonly errors: unknown[] = [];
  /** What the transport passed to this consumer's `onError` (trouble it is recovering from). */
  readonly reported: unknown[] = [];
  outstanding = 0;
  maxOutstanding = 0;
  readonly #controller = new AbortController();
  readonly #settled = new WeakSet<Delivery>();

  constructor(
    readonly transport: Transport,
    readonly queue: string,
    readonly prefetch: number,
    readonly mode: SettleMode,
  ) {}

  async start(): Promise<this> {
    await this.transport.consume(
      this.queue,
      (delivery) => {
        this.deliveries.push(delivery);
        const id = idOf(delivery);
        if (id !== undefined) this.seen.add(id);
        this.outstanding += 1;
        if (this.outstanding > this.maxOutstanding) this.maxOutstanding = this.outstanding;
        if (this.mode === 'ack') this.ackInBackground(delivery);
        else if (typeof this.mode === 'function') this.mode(delivery, this);
      },
      {
        prefetch: this.prefetch,
        signal: this.#controller.signal,
        onError: (error: unknown) => {
          this.reported.push(error);
          recordTransportError(this.transport, error);
        },
      },
    );
    return this;
  }

  /** Stops new deliveries (deliveries held stay valid). */
  stop(): void {
    this.#controller.abort();
  }

  /** Acks without awaiting; a failure is recorded in `errors` instead of being unhandled. */
  ackInBackground(delivery: Delivery): void {
    this.ack(delivery).catch((error: unknown) => {
      this.errors.push(error);
      recordTransportError(this.transport, error);
    });
  }

  async ack(delivery: Delivery): Promise<void> {
    if (!this.#markSettled(delivery)) return;
    // Recorded before the broker call resolves: a redelivery may arrive before that.
    const id = idOf(delivery);
    const first = id !== undefined && !this.acked.has(id);
    if (first) this.acked.add(id);
    try {
      await delivery.ack();
    } catch (error) {
      if (first) this.acked.delete(id);
      throw error;
    }
  }

  async nack(delivery: Delivery, delayMs?: number): Promise<void> {
    if (!this.#markSettled(delivery)) return;
    await delivery.nack(delayMs === undefined ? undefined : { delayMs });
  }

  async reject(delivery: Delivery, reason: string): Promise<void> {
    if (!this.#markSettled(delivery)) return;
    await delivery.reject(reason);
  }

  /** Deliveries not settled by this probe. */
  unsettled(): Delivery[] {
    return this.deliveries.filter((d) => !this.#settled.has(d));
  }

  waitForCount(count: number, timeoutMs: number): Promise<void> {
    return waitUntil(
      () => this.deliveries.length >= count,
      timeoutMs,
      () => `${count} deliveries on ${this.queue} (got ${this.deliveries.length})`,
    );
  }

  waitForIds(ids: readonly string[], timeoutMs: number): Promise<void> {
    return waitUntil(
      () => ids.every((id) => this.seen.has(id)),
      timeoutMs,
      () => {
        const missing = ids.filter((id) => !this.seen.has(id));
        return `${ids.length} ids on ${this.queue}; ${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`;
      },
    );
  }

  #markSettled(delivery: Delivery): boolean {
    if (this.#settled.has(delivery)) return false;
    this.#settled.add(delivery);
    this.outstanding -= 1;
    return true;
  }
}
