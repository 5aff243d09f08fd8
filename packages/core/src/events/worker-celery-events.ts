import { loadavg, type as osType } from 'node:os';
import { InvalidOptionError, UnsupportedFeatureError } from '../errors/transport-errors.js';
import { pythonValueRepr } from '../message/python-repr.js';
import type { Listener } from '../runtime/typed-emitter.js';
import type { WorkerEvents } from '../runtime/worker-events.js';
import type { Transport } from '../transport/transport.js';
import { CONVEYOR_VERSION } from '../version.js';
import { CeleryEventDispatcher } from './event-dispatcher.js';

/** Celery's `SOFTWARE_INFO` of a Conveyor worker; Flower shows it beside each worker. */
export const CONVEYOR_SOFTWARE_INFO = Object.freeze({
  sw_ident: 'conveyor',
  sw_ver: CONVEYOR_VERSION,
  sw_sys: osType(),
});

/** `Worker({ events })`: `true`, or the heartbeat interval. */
export interface WorkerCeleryEventsOptions {
  /** Seconds between `worker-heartbeat` events (Celery's `Heart` interval, its `freq`). Default 2. */
  heartbeatSeconds?: number;
}

/** What the publisher needs from a Worker: its events, name and load. */
export interface EventSource {
  readonly hostname: string;
  readonly running: number;
  readonly transport: Transport;
  on<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents[E]>): () => void;
  emit(event: 'error', payload: WorkerEvents['error']): void;
}

/**
 * Turns a Worker's typed events into Celery's worker and task events (`worker_send_task_events`,
 * `celery worker -E`), so that Celery's event receiver, `celery events` and Flower see a Conveyor
 * worker beside Python ones: `worker-online` at start, `worker-heartbeat` every 2 s, and
 * `worker-offline` at stop, with the fields of Celery's `Heart`; each task's `task-received`,
 * `task-started`, then `task-succeeded`, `task-failed`, `task-retried`, `task-rejected` or
 * `task-revoked` with the fields of Celery's `Request`. Failures to publish are the Worker's
 * `error` events; they never fail a task.
 */
export class WorkerCeleryEvents {
  readonly dispatcher: CeleryEventDispatcher;
  readonly heartbeatSeconds: number;
  readonly #source: EventSource;
  readonly #unsubscribe: (() => void)[] = [];
  #processed = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(source: EventSource, options: WorkerCeleryEventsOptions | true = {}) {
    const { transport } = source;
    if (!transport.capabilities.broadcast || transport.broadcast === undefined) {
      throw new UnsupportedFeatureError(
        'broadcast',
        'the events option needs a transport that can fan messages out (Celery has no events on SQS either)',
        { transport: transport.name },
      );
    }
    const heartbeatSeconds = options === true ? 2 : (options.heartbeatSeconds ?? 2);
    if (!(heartbeatSeconds > 0) || !Number.isFinite(heartbeatSeconds)) {
      throw new InvalidOptionError(
        'events.heartbeatSeconds',
        `must be a number > 0, got ${heartbeatSeconds}`,
      );
    }
    this.heartbeatSeconds = heartbeatSeconds;
    this.#source = source;
    this.dispatcher = new CeleryEventDispatcher({
      broadcast: transport.broadcast,
      hostname: source.hostname,
      onError: (error) => source.emit('error', { error }),
    });
  }

  /** Subscribes to the worker's task events and sends `worker-online`, then heartbeats. */
  async online(): Promise<void> {
    const send = this.dispatcher;
    const on = <E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents[E]>): void => {
      this.#unsubscribe.push(this.#source.on(event, listener));
    };
    on('received', (e) => {
      void send.send('task-received', {
        uuid: e.taskId,
        name: e.name,
        args: e.argsrepr,
        kwargs: e.kwargsrepr,
        root_id: e.rootId,
        parent_id: e.parentId,
        retries: e.retries,
        eta: e.eta ? e.eta.toISOString() : null,
        expires: e.expires ? e.expires.toISOString() : null,
      });
    });
    on('started', (e) => {
      // Celery counts a task as processed when it is accepted (state.task_accepted).
      this.#processed += 1;
      void send.send('task-started', { uuid: e.taskId });
    });
    on('succeeded', (e) => {
      void send.send('task-succeeded', {
        uuid: e.taskId,
        result: pythonValueRepr(e.result),
        runtime: e.runtimeMs / 1000,
      });
    });
    on('failed', (e) => {
      void send.send('task-failed', {
        uuid: e.taskId,
        exception: exceptionRepr(e.error),
        traceback: tracebackOf(e.error),
      });
    });
    on('retried', (e) => {
      void send.send('task-retried', {
        uuid: e.taskId,
        exception: exceptionRepr(e.error),
        traceback: tracebackOf(e.error) ?? '',
      });
    });
    on('rejected', (e) => {
      // A message that could not be decoded has no task id: Celery sends nothing for it either.
      if (e.taskId !== undefined) void send.send('task-rejected', { uuid: e.taskId, requeue: false });
    });
    on('revoked', (e) => {
      void send.send('task-revoked', {
        uuid: e.taskId,
        terminated: false,
        signum: null,
        expired: e.reason.startsWith('expired'),
      });
    });
    await this.#beat('worker-online');
    this.#heartbeat = setInterval(() => void this.#beat('worker-heartbeat'), this.heartbeatSeconds * 1000);
    this.#heartbeat.unref?.();
  }

  /** Stops the heartbeats and the task events and sends `worker-offline`. */
  async offline(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#beat('worker-offline');
  }

  #beat(type: 'worker-online' | 'worker-heartbeat' | 'worker-offline'): Promise<void> {
    return this.dispatcher.send(type, {
      freq: this.heartbeatSeconds,
      active: this.#source.running,
      processed: this.#processed,
      // Celery's load_average(): the three figures rounded to two decimals.
      loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
      ...CONVEYOR_SOFTWARE_INFO,
    });
  }
}

/** Celery sends `safe_repr(exception)`, e.g. `ValueError('boom')`. */
function exceptionRepr(error: unknown): string {
  if (error instanceof Error) return `${error.name}(${pythonValueRepr(error.message)})`;
  return pythonValueRepr(error);
}

function tracebackOf(error: unknown): string | null {
  return error instanceof Error && error.stack ? error.stack : null;
}
