/**
 * What the dashboard shows, gathered from the broker: queue depths polled through
 * `transport.queueDepth` (the queue and its `<queue>.dlq`), and, where the broker carries
 * broadcast, Celery's events (workers from their heartbeats, failures from `task-failed`). A value
 * a broker cannot tell is `null`, which the page shows as "-".
 */
import { CELERY_EVENT_EXCHANGE, type Transport } from '@conveyor/core';

/** One queue's counts. `null`: the broker cannot tell (the page shows "-"). */
export interface QueueSnapshot {
  name: string;
  deadLetterQueue: string;
  ready: number | null;
  inFlight: number | null;
  delayed: number | null;
  /** Letters in the dead-letter queue, waiting or held by a listing, redrive or purge. */
  deadLettered: number | null;
  /** Change of `ready` per second since the previous poll (negative while a queue drains). */
  readyPerSecond: number | null;
  /** Why the counts are missing, when the poll failed (no secrets: the broker's message). */
  error: string | null;
}

/** A worker as its events describe it. */
export interface WorkerSnapshot {
  hostname: string;
  /** Unix ms of its last event. */
  lastSeen: number;
  /** False after `worker-offline`, or when no heartbeat came for three intervals. */
  online: boolean;
  active: number | null;
  processed: number | null;
  software: string | null;
}

/** One `task-failed` event (or `task-retried`, with `retried` set). */
export interface FailureSnapshot {
  taskId: string;
  task: string | null;
  hostname: string | null;
  exception: string;
  traceback: string | null;
  at: number;
  retried: boolean;
}

/** Tasks that ended in the last minute, counted from events. */
export interface RateSnapshot {
  succeededPerMinute: number;
  failedPerMinute: number;
}

/** Everything the page draws, sent whole on every update. */
export interface DashboardSnapshot {
  transport: string;
  /** The broker URL without its password. */
  broker: string;
  /** True when the broker carries Celery's events; false shows "no events on this broker". */
  events: boolean;
  /** True when redrive and purge are allowed (`--allow-redrive-purge`). */
  writable: boolean;
  /** True when dead letters are shown with their stored results (`--results`). */
  results: boolean;
  polledAt: number;
  queues: QueueSnapshot[];
  workers: WorkerSnapshot[];
  failures: FailureSnapshot[];
  /** Null without events. */
  rates: RateSnapshot | null;
}

/** How the state is gathered. */
export interface DashboardStateOptions {
  transport: Transport;
  /** Shown on the page; must already be redacted. */
  broker: string;
  /** Queues named with `--queue`; more are added as events name them. */
  queues: readonly string[];
  writable: boolean;
  /** A result backend is open (`--results`). */
  results?: boolean;
  /** The dead-letter queue of a queue (the transport contract's `<queue>.dlq`). */
  deadLetterQueueOf?: (queue: string) => string;
  /** How many failures are kept (newest first). */
  failureLimit?: number;
  onError?: (error: unknown) => void;
}

const DEFAULT_FAILURE_LIMIT = 50;
/** A worker without a heartbeat for this many intervals is shown offline, as Flower does. */
const MISSED_HEARTBEATS = 3;
const DEFAULT_HEARTBEAT_SECONDS = 2;
const RATE_WINDOW_MS = 60_000;

type EventFields = Record<string, unknown>;

/** Collects events and depths; `snapshot()` reads the latest poll. */
export class DashboardState {
  readonly #options: DashboardStateOptions;
  readonly #queues: string[];
  readonly #workers = new Map<string, WorkerSnapshot & { heartbeatSeconds: number }>();
  readonly #failures: FailureSnapshot[] = [];
  readonly #taskNames = new Map<string, string>();
  readonly #ended: { at: number; failed: boolean }[] = [];
  readonly #abort = new AbortController();
  #depths = new Map<string, QueueSnapshot>();
  #polledAt = 0;
  #events = false;

  constructor(options: DashboardStateOptions) {
    this.#options = options;
    this.#queues = [...new Set(options.queues)];
  }

  /** The queues shown, in the order they were named or discovered. */
  get queues(): readonly string[] {
    return this.#queues;
  }

  /** Subscribes to Celery's events when the broker carries them (all of `celeryev`, `#`). */
  async start(): Promise<void> {
    const broadcast = this.#options.transport.broadcast;
    if (this.#options.transport.capabilities.broadcast && broadcast !== undefined) {
      await broadcast.subscribe(CELERY_EVENT_EXCHANGE, '#', (m) => this.#onEvent(m.message.body), {
        signal: this.#abort.signal,
        ...(this.#options.onError ? { onError: this.#options.onError } : {}),
      });
      this.#events = true;
    }
  }

  stop(): void {
    this.#abort.abort();
  }

  /** Reads every queue's depth and its dead-letter queue's; a failing queue keeps its error. */
  async poll(now = Date.now()): Promise<void> {
    const elapsedSeconds = this.#polledAt === 0 ? 0 : (now - this.#polledAt) / 1000;
    const next = new Map<string, QueueSnapshot>();
    await Promise.all(
      this.#queues.map(async (name) => {
        const deadLetterQueue = this.deadLetterQueueOf(name);
        const previous = this.#depths.get(name);
        try {
          const [depth, dead] = await Promise.all([
            this.#options.transport.queueDepth(name),
            // Letters a listing holds for a moment are in flight: still dead letters, so the count
            // does not dip (and make the page list again) while the page reads them.
            this.#options.transport.queueDepth(deadLetterQueue).then(
              (d) => d.ready + (d.inFlight ?? 0),
              () => null,
            ),
          ]);
          const rate =
            previous?.ready != null && elapsedSeconds > 0
              ? Math.round(((depth.ready - previous.ready) / elapsedSeconds) * 10) / 10
              : null;
          next.set(name, {
            name,
            deadLetterQueue,
            ready: depth.ready,
            inFlight: depth.inFlight ?? null,
            delayed: depth.delayed ?? null,
            deadLettered: dead,
            readyPerSecond: rate,
            error: null,
          });
        } catch (error) {
          next.set(name, {
            name,
            deadLetterQueue,
            ready: null,
            inFlight: null,
            delayed: null,
            deadLettered: null,
            readyPerSecond: null,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }),
    );
    this.#depths = next;
    this.#polledAt = now;
  }

  deadLetterQueueOf(queue: string): string {
    return this.#options.deadLetterQueueOf?.(queue) ?? `${queue}.dlq`;
  }

  snapshot(now = Date.now()): DashboardSnapshot {
    while (this.#ended.length > 0 && this.#ended[0]!.at < now - RATE_WINDOW_MS) this.#ended.shift();
    const workers = [...this.#workers.values()].map(({ heartbeatSeconds, ...worker }) => ({
      ...worker,
      online: worker.online && now - worker.lastSeen <= heartbeatSeconds * 1000 * MISSED_HEARTBEATS,
    }));
    return {
      transport: this.#options.transport.name,
      broker: this.#options.broker,
      events: this.#events,
      writable: this.#options.writable,
      results: this.#options.results ?? false,
      polledAt: this.#polledAt,
      queues: this.#queues.map(
        (name) =>
          this.#depths.get(name) ?? {
            name,
            deadLetterQueue: this.deadLetterQueueOf(name),
            ready: null,
            inFlight: null,
            delayed: null,
            deadLettered: null,
            readyPerSecond: null,
            error: null,
          },
      ),
      workers: workers.sort((a, b) => a.hostname.localeCompare(b.hostname)),
      failures: [...this.#failures],
      rates: this.#events
        ? {
            succeededPerMinute: this.#ended.filter((e) => !e.failed).length,
            failedPerMinute: this.#ended.filter((e) => e.failed).length,
          }
        : null,
    };
  }

  #onEvent(body: Uint8Array): void {
    let event: EventFields;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
      event = parsed as EventFields;
    } catch {
      return; // not a JSON event (another producer on the exchange): nothing to show
    }
    this.recordEvent(event);
  }

  /** Applies one Celery event (exposed for the unit tests of the page's data). */
  recordEvent(event: EventFields, now = Date.now()): void {
    const type = typeof event.type === 'string' ? event.type : '';
    const hostname = typeof event.hostname === 'string' ? event.hostname : null;
    const uuid = typeof event.uuid === 'string' ? event.uuid : null;
    if (type.startsWith('worker-') && hostname !== null) {
      const known = this.#workers.get(hostname);
      this.#workers.set(hostname, {
        hostname,
        lastSeen: now,
        online: type !== 'worker-offline',
        active: typeof event.active === 'number' ? event.active : (known?.active ?? null),
        processed: typeof event.processed === 'number' ? event.processed : (known?.processed ?? null),
        software:
          typeof event.sw_ident === 'string'
            ? `${event.sw_ident} ${typeof event.sw_ver === 'string' ? event.sw_ver : ''}`.trim()
            : (known?.software ?? null),
        heartbeatSeconds:
          typeof event.freq === 'number' && event.freq > 0 ? event.freq : DEFAULT_HEARTBEAT_SECONDS,
      });
      return;
    }
    if (uuid === null) return;
    if ((type === 'task-sent' || type === 'task-received') && typeof event.name === 'string') {
      this.#taskNames.set(uuid, event.name);
      if (this.#taskNames.size > 10_000) this.#taskNames.delete(this.#taskNames.keys().next().value!);
      if (type === 'task-sent' && typeof event.queue === 'string' && !this.#queues.includes(event.queue)) {
        this.#queues.push(event.queue);
      }
      return;
    }
    if (type === 'task-succeeded' || type === 'task-failed') {
      this.#ended.push({ at: now, failed: type === 'task-failed' });
    }
    if (type === 'task-failed' || type === 'task-retried') {
      this.#failures.unshift({
        taskId: uuid,
        task: this.#taskNames.get(uuid) ?? null,
        hostname,
        exception: typeof event.exception === 'string' ? event.exception : '',
        traceback: typeof event.traceback === 'string' && event.traceback !== '' ? event.traceback : null,
        at: typeof event.timestamp === 'number' ? Math.round(event.timestamp * 1000) : now,
        retried: type === 'task-retried',
      });
      this.#failures.splice(this.#options.failureLimit ?? DEFAULT_FAILURE_LIMIT);
    }
    if (type === 'task-succeeded' || type === 'task-failed') this.#taskNames.delete(uuid);
  }
}
