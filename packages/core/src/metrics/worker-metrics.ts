import { InvalidOptionError } from '../errors/transport-errors.js';
import type { Client } from '../runtime/client.js';
import type { Worker } from '../runtime/worker.js';
import type { QueueDepth } from '../transport/transport.js';
import { type Counter, DEFAULT_SECONDS_BUCKETS, type Histogram, MetricRegistry } from './metric-registry.js';

/** Options of {@link attachWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Where the metrics go. Default: a new registry, returned as `registry`. */
  registry?: MetricRegistry;
  /**
   * A queue depth read from the broker is reused for this long, so frequent scrapes (or several
   * Prometheus servers) do not each cost a broker round trip. Default 5000 ms.
   */
  queueDepthCacheMs?: number;
  /**
   * A scrape waits this long for the broker's queue depth, then serves the last value read (or
   * none): a slow broker must not stall the scrape. Default 2000 ms.
   */
  queueDepthTimeoutMs?: number;
  /** Buckets of the duration and latency histograms, in seconds. */
  buckets?: readonly number[];
}

/** What {@link attachWorkerMetrics} returns. */
export interface WorkerMetrics {
  readonly registry: MetricRegistry;
  /** Stops listening to the worker (the values stay in the registry). */
  detach(): void;
}

/** Outcome label of `conveyor_task_duration_seconds`. */
type Outcome = 'succeeded' | 'retried' | 'failed';

/** What the metrics remember of a message between its `received` event and its outcome. */
interface Attempt {
  queue: string;
  /** The message's retry count: a retry's message is received before the attempt it replaces reports `retried`. */
  retries: number;
  /** When it became due (performance clock, ms): sent, or its eta when later; undefined when unknown. */
  dueAt: number | undefined;
  /** When the handler started (performance clock, ms). */
  startedAt: number | undefined;
}

/** Task ids remembered at most; a message the worker drops without an event must not leak memory. */
const MAX_TRACKED_TASKS = 10_000;

/**
 * Counts what a Worker does, from its events, into Prometheus metrics:
 * `conveyor_tasks_{received,succeeded,failed,retried,dead_lettered,revoked}_total{queue,task}`,
 * `conveyor_task_duration_seconds{queue,task,outcome}` (handler run time),
 * `conveyor_task_latency_seconds{queue,task}` (from when it was due to its outcome; only for
 * messages sent with the Client's `sentTimestamp`), `conveyor_tasks_in_flight` and
 * `conveyor_queue_depth{queue,state}` (read from the broker at scrape time; a state the broker
 * cannot tell is left out). Nothing is added to the worker's hot path beyond the listeners.
 */
export function attachWorkerMetrics(worker: Worker, options: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = options.registry ?? new MetricRegistry();
  const cacheMs = nonNegative(options.queueDepthCacheMs, 'queueDepthCacheMs', 5_000);
  const timeoutMs = nonNegative(options.queueDepthTimeoutMs, 'queueDepthTimeoutMs', 2_000);
  const buckets = options.buckets ?? DEFAULT_SECONDS_BUCKETS;
  const labelNames = ['queue', 'task'] as const;
  const counter = (what: string, help: string): Counter<'queue' | 'task'> =>
    registry.counter({ name: `conveyor_tasks_${what}_total`, help, labelNames });
  const received = counter('received', 'Task messages received (each delivery counts)');
  const succeeded = counter('succeeded', 'Tasks that succeeded');
  const failed = counter('failed', 'Tasks that failed for good (then dead-lettered)');
  const retried = counter('retried', 'Task attempts that failed and were scheduled for a retry');
  const deadLettered = counter(
    'dead_lettered',
    'Messages sent to the dead-letter queue (task is empty when the message could not be decoded)',
  );
  const revoked = counter('revoked', 'Tasks not run because they expired');
  const duration: Histogram<'queue' | 'task' | 'outcome'> = registry.histogram({
    name: 'conveyor_task_duration_seconds',
    help: 'Run time of task handlers, by outcome',
    labelNames: ['queue', 'task', 'outcome'],
    buckets,
  });
  const latency = registry.histogram({
    name: 'conveyor_task_latency_seconds',
    help: 'End to end: from when a task was due (sent, or its eta) to its outcome; needs x-conveyor-sent-at',
    labelNames,
    buckets,
  });
  const inFlight = registry.gauge({
    name: 'conveyor_tasks_in_flight',
    help: 'Messages this worker holds and has not settled',
  });
  const depth = registry.gauge({
    name: 'conveyor_queue_depth',
    help: 'Messages in the queue by state (ready, in_flight, delayed), as the broker reports them',
    labelNames: ['queue', 'state'],
  });

  const attempts = new AttemptsByTask();
  const finish = (attempt: Attempt | undefined, name: string, outcome: Outcome): void => {
    const queue = attempt?.queue ?? '';
    const now = performance.now();
    if (attempt?.startedAt !== undefined) {
      duration.observe({ queue, task: name, outcome }, (now - attempt.startedAt) / 1000);
    }
    if (attempt?.dueAt !== undefined) {
      latency.observe({ queue, task: name }, Math.max(0, now - attempt.dueAt) / 1000);
    }
  };

  const unsubscribe = [
    worker.on('received', (e) => {
      received.inc({ queue: e.queue, task: e.name });
      // Wall-clock instants from the message, moved onto the monotonic clock once, here.
      const due = Math.max(
        e.sentAt ?? Number.NEGATIVE_INFINITY,
        e.eta?.getTime() ?? Number.NEGATIVE_INFINITY,
      );
      const dueAt = e.sentAt === undefined ? undefined : performance.now() - (Date.now() - due);
      attempts.add(e.taskId, { queue: e.queue, retries: e.retries, dueAt, startedAt: undefined });
    }),
    worker.on('started', (e) => {
      const attempt = attempts.find(e.taskId, (a) => a.startedAt === undefined, 'newest');
      if (attempt !== undefined) attempt.startedAt = performance.now();
    }),
    worker.on('succeeded', (e) => {
      // Nothing newer than a success: no retry was published.
      const attempt = attempts.take(e.taskId, () => true, 'newest');
      succeeded.inc({ queue: attempt?.queue ?? '', task: e.name });
      finish(attempt, e.name, 'succeeded');
    }),
    worker.on('retried', (e) => {
      const attempt = attempts.take(e.taskId, (a) => a.retries === e.retries - 1, 'oldest');
      retried.inc({ queue: attempt?.queue ?? '', task: e.name });
      finish(attempt, e.name, 'retried');
    }),
    worker.on('failed', (e) => {
      const attempt = attempts.take(e.taskId, (a) => a.retries === e.retries, 'oldest');
      failed.inc({ queue: attempt?.queue ?? '', task: e.name });
      finish(attempt, e.name, 'failed');
    }),
    worker.on('rejected', (e) => {
      deadLettered.inc({ queue: e.queue, task: e.name ?? '' });
      // Refused before it ran (unknown task, invalid arguments); after a failure it is gone already.
      if (e.taskId !== undefined) attempts.take(e.taskId, (a) => a.startedAt === undefined, 'newest');
    }),
    worker.on('revoked', (e) => {
      const attempt = attempts.take(e.taskId, (a) => a.startedAt === undefined, 'newest');
      revoked.inc({ queue: attempt?.queue ?? '', task: e.name });
    }),
    registry.onCollect(() => inFlight.set(undefined, worker.running)),
    registry.onCollect(
      queueDepthCollector(worker, depth.set.bind(depth), depth.reset.bind(depth), cacheMs, timeoutMs),
    ),
  ];
  return {
    registry,
    detach: () => {
      for (const off of unsubscribe) off();
    },
  };
}

/**
 * Counts the tasks a Client sends into `conveyor_tasks_sent_total{queue,task}` (in `registry`, a
 * new one by default). Returns the registry and a function that stops counting.
 */
export function attachClientMetrics(
  client: Client,
  registry: MetricRegistry = new MetricRegistry(),
): { readonly registry: MetricRegistry; detach(): void } {
  const sent = registry.counter({
    name: 'conveyor_tasks_sent_total',
    help: 'Task messages the broker stored for this client',
    labelNames: ['queue', 'task'],
  });
  const off = client.on('sent', (e) => sent.inc({ queue: e.queue, task: e.name }));
  return { registry, detach: off };
}

/**
 * The attempts in progress per task id. Usually one; two while a retry's message is already
 * received and the attempt it replaces has not reported yet, or when a message is delivered twice.
 */
class AttemptsByTask {
  readonly #byTask = new Map<string, Attempt[]>();

  add(taskId: string, attempt: Attempt): void {
    // The same message again (an early one parked until its eta, a redelivery): it starts over.
    const list = (this.#byTask.get(taskId) ?? []).filter((a) => a.retries !== attempt.retries);
    list.push(attempt);
    this.#byTask.delete(taskId);
    this.#byTask.set(taskId, list);
    if (this.#byTask.size > MAX_TRACKED_TASKS) this.#byTask.delete(this.#byTask.keys().next().value!);
  }

  find(taskId: string, match: (a: Attempt) => boolean, from: 'oldest' | 'newest'): Attempt | undefined {
    const list = this.#byTask.get(taskId) ?? [];
    return from === 'oldest' ? list.find(match) : list.findLast(match);
  }

  take(taskId: string, match: (a: Attempt) => boolean, from: 'oldest' | 'newest'): Attempt | undefined {
    const list = this.#byTask.get(taskId);
    if (list === undefined) return undefined;
    const index = from === 'oldest' ? list.findIndex(match) : list.findLastIndex(match);
    if (index === -1) return undefined;
    const [attempt] = list.splice(index, 1);
    if (list.length === 0) this.#byTask.delete(taskId);
    return attempt;
  }
}

type SetDepth = (labels: { queue: string; state: string }, value: number) => void;

/**
 * Reads each queue's depth from the broker, at most once per `cacheMs`, waiting at most `timeoutMs`
 * per scrape: a slower read finishes in the background and serves the next scrape.
 */
function queueDepthCollector(
  worker: Worker,
  set: SetDepth,
  reset: () => void,
  cacheMs: number,
  timeoutMs: number,
): () => Promise<void> {
  const known = new Map<string, QueueDepth>();
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const read = async (): Promise<void> => {
    await Promise.all(
      worker.queues.map(async (queue) => {
        try {
          known.set(queue, await worker.transport.queueDepth(queue));
        } catch {
          // Unknown now (broker down, transport closed): no value rather than a stale one.
          known.delete(queue);
        }
      }),
    );
    readAt = performance.now();
  };
  return async () => {
    if (reading === undefined && performance.now() - readAt >= cacheMs) {
      reading = read().finally(() => {
        reading = undefined;
      });
    }
    if (reading !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([reading, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    reset();
    for (const [queue, value] of known) {
      set({ queue, state: 'ready' }, value.ready);
      if (value.inFlight !== undefined) set({ queue, state: 'in_flight' }, value.inFlight);
      if (value.delayed !== undefined) set({ queue, state: 'delayed' }, value.delayed);
    }
  };
}

function nonNegative(value: number | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new InvalidOptionError(option, `must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}
