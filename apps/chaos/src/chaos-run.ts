import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFaultProxy, type FaultProxy } from '@conveyor/conformance';
import { Client, ConveyorError, type QueueDepth, type Transport } from '@conveyor/core';
import {
  BROKER_PROFILES,
  type BrokerName,
  type BrokerUnderTest,
  createChaosTransport,
} from './broker-profiles.js';
import { FAIL_TASK, WORK_TASK } from './chaos-tasks.js';
import { CompletionLog } from './completion-log.js';
import {
  defaultFaultCounts,
  FAULT_KINDS,
  type FaultKind,
  type PlannedFault,
  planFaults,
} from './fault-schedule.js';
import { type FaultRecovery, type InjectedFault, recoveries, throughput } from './recovery-stats.js';
import { seededRandom } from './seeded-random.js';
import { WorkerPool } from './worker-pool.js';

/** What a chaos run is asked to do. */
export interface ChaosOptions {
  readonly broker: BrokerName;
  readonly tasks: number;
  readonly workers: number;
  readonly seed: number;
  /** Tasks each worker runs at once. Default 4. */
  readonly concurrency?: number;
  /** Faults of each kind. Default defaultFaultCounts(tasks). */
  readonly faultCounts?: Readonly<Record<FaultKind, number>>;
  /** Share of the tasks meant to fail (and be dead-lettered). Default 0.01. */
  readonly failShare?: number;
  /**
   * Keep the queues and the run's folder (completion files, worker transcripts) for a post-mortem
   * instead of removing them. Default: only when an invariant broke.
   */
  readonly keep?: boolean;
  /** Progress lines. Default: none. */
  readonly log?: (line: string) => void;
}

/** What a chaos run found. */
export interface ChaosReport {
  readonly broker: BrokerName;
  readonly tasks: number;
  readonly workers: number;
  readonly seed: number;
  /** Tasks whose publish resolved. */
  readonly accepted: number;
  /** Tasks whose publish never resolved before the run gave up on them (not counted as lost). */
  readonly notAccepted: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Accepted meant-to-succeed tasks with no completion record: must be empty. */
  readonly lost: readonly number[];
  /** Completions beyond the first of each task (at-least-once redeliveries). */
  readonly duplicates: number;
  readonly deadLetters: {
    /** Accepted meant-to-fail tasks. */
    readonly expected: number;
    /** Distinct task ids found in the dead-letter queue. */
    readonly actual: number;
    /** Dead letters beyond the first of a task id. */
    readonly copies: number;
    /** Meant-to-fail tasks missing from the dead-letter queue. */
    readonly missing: readonly number[];
    /** Dead-lettered tasks that were not meant to fail (or ids that are no task of the run). */
    readonly unexpected: readonly string[];
  };
  /** The queue's depth once everything had completed: all zero, or something is stuck. */
  readonly leftover: QueueDepth;
  readonly recoveries: readonly FaultRecovery[];
  /** Completions per second in the fault-free first part of the run. */
  readonly baselinePerSecond: number;
  /** Completions per second from the first fault to the recovery from the last. */
  readonly underFaultPerSecond: number | undefined;
  readonly durationMs: number;
  /** The run's folder when it was kept (completion files and worker transcripts). */
  readonly keptIn: string | undefined;
  /** Worker processes that stopped consuming on their own (see worker-main.ts). */
  readonly stalledWorkers: number;
  /** Worker starts that failed because the broker was down (started again). */
  readonly failedStarts: number;
  /** Worker processes that died without being killed by the runner. */
  readonly unexpectedExits: readonly string[];
  /** Errors and unexpected dead letters the workers reported (first ones). */
  readonly workerReports: readonly string[];
  readonly workerReportCount: number;
}

const PUBLISHERS = 16;
/** A publish that neither resolves nor fails within this is tried again (same task id). */
const PUBLISH_ATTEMPT_TIMEOUT_MS = 30_000;
/** The run gives up waiting for completions after this long without a new one. */
const STALL_TIMEOUT_MS = 90_000;
/** How long the queue may take to show nothing ready or in flight after the last completion. */
const DRAIN_TIMEOUT_MS = 60_000;
/** Faults are this far apart at least, so that each has a fault-free window before it. */
const FAULT_GAP_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs N tasks through worker processes on one broker while faults land; see docs/reliability.md. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const profile = BROKER_PROFILES[options.broker];
  const random = seededRandom(options.seed);
  const failShare = options.failShare ?? 0.01;
  const meantToFail = new Set<number>();
  for (let n = 0; n < options.tasks; n += 1) if (random() < failShare) meantToFail.add(n);
  if (meantToFail.size === 0) meantToFail.add(Math.floor(random() * options.tasks));
  const ids = Array.from({ length: options.tasks }, () => randomUUID());
  const queue = `chaos-${options.broker}-${randomUUID().slice(0, 8)}`;
  const plan = planFaults({
    seed: options.seed,
    counts: options.faultCounts ?? defaultFaultCounts(options.tasks),
    workers: options.workers,
    unsupported: profile.unsupported,
  });
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-chaos-'));
  const started = Date.now();
  log(
    `${options.broker}: ${options.tasks} tasks (${meantToFail.size} meant to fail), ${plan.length} faults, queue ${queue}`,
  );

  const broker = await profile.open();
  let proxy: FaultProxy | undefined;
  let pool: WorkerPool | undefined;
  const transports: Transport[] = [];
  let keep = options.keep ?? false;
  try {
    proxy = await createFaultProxy({ upstream: broker.upstream });
    const observer = createChaosTransport(options.broker, broker.upstream);
    transports.push(observer);
    await observer.connect();
    await declareWithRetry(observer, queue);
    pool = new WorkerPool(
      { broker: options.broker, endpoint: proxy.endpoint, queue, concurrency: options.concurrency ?? 4 },
      dir,
      options.workers,
    );
    await pool.startAll();
    log(`${options.broker}: ${options.workers} workers consuming`);

    const completions = new CompletionLog(dir);
    const succeedTotal = options.tasks - meantToFail.size;
    const accepted = new Set<number>();
    const notAccepted = new Set<number>();
    const producerTransport = createChaosTransport(options.broker, proxy.endpoint);
    transports.push(producerTransport);
    const client = new Client({
      transport: producerTransport,
      defaultQueue: queue,
      publishRetry: { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 1000 },
    });
    // The producer keeps a bounded backlog, so that it publishes through the whole run (and meets
    // the faults) while the workers always have work.
    const backlog = Math.max(200, Math.round(options.tasks / 10));
    let next = 0;
    let producing = true;
    const publishOne = async (n: number): Promise<void> => {
      const task = meantToFail.has(n) ? FAIL_TASK : WORK_TASK;
      const giveUpAt = Date.now() + STALL_TIMEOUT_MS;
      while (Date.now() < giveUpAt) {
        const attempt = client.send(task, [n], { queue, taskId: ids[n]! });
        // A late success still counts: the broker has the message.
        attempt.then(
          () => accepted.add(n),
          () => undefined,
        );
        const outcome = await Promise.race([
          attempt.then(
            () => 'ok' as const,
            () => 'failed' as const,
          ),
          sleep(PUBLISH_ATTEMPT_TIMEOUT_MS).then(() => 'timeout' as const),
        ]);
        if (outcome === 'ok') return;
        await sleep(250);
      }
      if (!accepted.has(n)) notAccepted.add(n);
    };
    const producer = Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (next < options.tasks) {
          while (accepted.size - completions.distinct.size > backlog) await sleep(10);
          // Another publisher may have taken the last task while this one waited.
          if (next >= options.tasks) break;
          await publishOne(next++);
        }
      }),
    ).finally(() => {
      producing = false;
    });

    const injected: InjectedFault[] = [];
    const pending: PlannedFault[] = [...plan].sort((a, b) => a.atProgress - b.atProgress);
    let lastFaultEnd = 0;
    let lastProgressAt = Date.now();
    let lastDistinct = 0;
    const acceptedSucceeding = (): number[] => [...accepted].filter((n) => !meantToFail.has(n));
    for (;;) {
      await sleep(50);
      completions.poll();
      const done = completions.distinct.size;
      if (done !== lastDistinct) {
        lastDistinct = done;
        lastProgressAt = Date.now();
      }
      const fault = pending[0];
      if (fault && done >= fault.atProgress * succeedTotal && Date.now() - lastFaultEnd >= FAULT_GAP_MS) {
        pending.shift();
        const happened = await inject(fault, broker, pool, proxy, log, options.broker);
        injected.push(happened);
        lastFaultEnd = happened.endedAt;
        lastProgressAt = Date.now();
        continue;
      }
      if (
        !producing &&
        pending.length === 0 &&
        acceptedSucceeding().every((n) => completions.distinct.has(n))
      )
        break;
      if (Date.now() - lastProgressAt > STALL_TIMEOUT_MS) {
        log(`${options.broker}: no completion for ${STALL_TIMEOUT_MS / 1000} s: giving up waiting`);
        break;
      }
    }
    await Promise.race([producer, sleep(1000)]);
    log(`${options.broker}: ${completions.distinct.size} tasks completed; waiting for the queue to drain`);

    await waitForEmpty(observer, queue, DRAIN_TIMEOUT_MS);
    const expectedDead = [...accepted].filter((n) => meantToFail.has(n));
    await pool.stopAll();
    // With no consumer left nothing can hide: RabbitMQ has requeued what a connection held (its
    // queue depth has no in-flight count), the others still count what is leased.
    const leftover = await waitForEmpty(observer, queue, 15_000);
    const dead = await drainDeadLetters(observer, `${queue}.dlq`, expectedDead.length);
    completions.poll();

    const nOfId = new Map<string, number>(ids.map((id, n) => [id, n]));
    const deadNs = new Set<number>();
    const unexpected: string[] = [];
    for (const id of new Set(dead)) {
      const n = nOfId.get(id);
      if (n !== undefined && meantToFail.has(n)) deadNs.add(n);
      else unexpected.push(n === undefined ? id : `${n} (${id})`);
    }
    const firstCompletion = new Map<number, number>();
    for (const record of completions.all) {
      const seen = firstCompletion.get(record.n);
      if (seen === undefined || record.at < seen) firstCompletion.set(record.n, record.at);
    }
    const times = [...firstCompletion.values()].sort((a, b) => a - b);
    const measured = recoveries(times, injected);
    const rates = throughput(times, measured);
    const faults = Object.fromEntries(
      FAULT_KINDS.map((kind) => [kind, injected.filter((f) => f.kind === kind).length]),
    ) as Record<FaultKind, number>;
    const lost = acceptedSucceeding()
      .filter((n) => !completions.distinct.has(n))
      .sort((a, b) => a - b);
    const missing = expectedDead.filter((n) => !deadNs.has(n)).sort((a, b) => a - b);
    const broken =
      lost.length > 0 ||
      missing.length > 0 ||
      unexpected.length > 0 ||
      leftover.ready !== 0 ||
      (leftover.inFlight ?? 0) !== 0;
    if (broken && options.keep === undefined) keep = true;
    if (lost.length > 0)
      log(
        `${options.broker}: lost ${lost
          .slice(0, 20)
          .map((n) => `${n} (${ids[n]})`)
          .join(', ')}`,
      );
    return {
      broker: options.broker,
      tasks: options.tasks,
      workers: options.workers,
      seed: options.seed,
      accepted: accepted.size,
      notAccepted: notAccepted.size,
      faults,
      lost,
      duplicates: completions.all.length - completions.distinct.size,
      deadLetters: {
        expected: expectedDead.length,
        actual: new Set(dead).size,
        copies: dead.length - new Set(dead).size,
        missing,
        unexpected,
      },
      leftover,
      recoveries: measured,
      baselinePerSecond: rates.baseline,
      underFaultPerSecond: rates.underFault,
      durationMs: Date.now() - started,
      keptIn: keep ? dir : undefined,
      stalledWorkers: pool.stalled,
      failedStarts: pool.failedStarts,
      unexpectedExits: [...pool.unexpectedExits],
      workerReports: pool.reports.slice(0, 20),
      workerReportCount: pool.reports.length,
    };
  } finally {
    await pool?.stopAll().catch(() => undefined);
    for (const transport of transports) await transport.close().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    // Whatever happened, the broker is up again before the run returns.
    await broker
      .ensureUp()
      .catch((error: unknown) => log(`${options.broker}: could not bring the broker up: ${String(error)}`));
    await broker.close().catch(() => undefined);
    if (keep) {
      log(`${options.broker}: kept queue ${queue} and ${dir} for a post-mortem`);
    } else {
      await broker.cleanup([queue, `${queue}.dlq`]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Carries out one planned fault. */
async function inject(
  fault: PlannedFault,
  broker: BrokerUnderTest,
  pool: WorkerPool,
  proxy: FaultProxy,
  log: (line: string) => void,
  name: BrokerName,
): Promise<InjectedFault> {
  const startedAt = Date.now();
  let detail: string;
  switch (fault.kind) {
    case 'worker-kill': {
      await pool.kill(fault.workerSlot);
      setTimeout(() => pool.restart(fault.workerSlot), fault.pauseMs);
      detail = `worker ${fault.workerSlot} SIGKILL, restarted after ${fault.pauseMs} ms`;
      break;
    }
    case 'broker-restart': {
      if (!broker.stop || !broker.start) throw new Error(`${name}: no broker restart here`);
      await broker.stop();
      await sleep(fault.pauseMs);
      await broker.start();
      detail = `down ${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
      break;
    }
    case 'connection-cut': {
      const before = proxy.stats().cut;
      proxy.cutAll();
      detail = `${proxy.stats().cut - before} connections cut`;
      break;
    }
  }
  const endedAt = Date.now();
  log(`${name}: ${fault.kind} at ${(fault.atProgress * 100).toFixed(0)}%: ${detail}`);
  return { kind: fault.kind, startedAt, endedAt, detail };
}

/**
 * Declares the queue, trying again on a retryable error: Kafka may answer a metadata request right
 * after creating a topic with UNKNOWN_TOPIC_OR_PARTITION (KafkaTransport marks it retryable).
 */
async function declareWithRetry(transport: Transport, queue: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await transport.declareQueue({ name: queue });
      return;
    } catch (error) {
      const retryable = error instanceof ConveyorError && error.retryable;
      if (!retryable || attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
}

/** Polls the queue's depth until nothing is ready, in flight or delayed (or the timeout). */
async function waitForEmpty(observer: Transport, queue: string, timeoutMs: number): Promise<QueueDepth> {
  const deadline = Date.now() + timeoutMs;
  let depth: QueueDepth = { ready: -1, inFlight: undefined, delayed: undefined };
  while (Date.now() < deadline) {
    depth = await observer.queueDepth(queue).catch(() => depth);
    if (depth.ready === 0 && (depth.inFlight ?? 0) === 0 && (depth.delayed ?? 0) === 0) return depth;
    await sleep(250);
  }
  return depth;
}

/**
 * Consumes the dead-letter queue to the end and returns the task id of every letter: until the
 * expected number came and nothing more for a few seconds (or a minute passed).
 */
async function drainDeadLetters(observer: Transport, dlq: string, expected: number): Promise<string[]> {
  const ids: string[] = [];
  const controller = new AbortController();
  let lastAt = Date.now();
  await observer.consume(
    dlq,
    async (delivery) => {
      ids.push(String(delivery.message?.headers.id ?? 'undecodable'));
      lastAt = Date.now();
      await delivery.ack();
    },
    { prefetch: 50, signal: controller.signal },
  );
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await sleep(200);
    if (new Set(ids).size >= expected && Date.now() - lastAt > 3000) break;
  }
  controller.abort();
  return ids;
}
