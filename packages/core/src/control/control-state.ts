import type { JsonValue } from '../message/json-value.js';
import type { Listener } from '../runtime/typed-emitter.js';
import type { WorkerEvents } from '../runtime/worker-events.js';

/** What the control commands report about one task, as Celery's `Request.info()` does. */
export interface ControlTaskInfo {
  id: string;
  name: string;
  argsrepr: string;
  kwargsrepr: string;
  queue: string;
  redelivered: boolean;
  /** When the handler started (epoch ms); undefined while it is only reserved. */
  startedAt?: number;
}

/** The Worker's events the tracker listens to. */
export interface TaskEventSource {
  on<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents[E]>): () => void;
}

/**
 * Most reserved tasks remembered. A task whose ETA is far is re-published and leaves this worker
 * with no event saying so (another worker may run it), so its entry is only replaced when it comes
 * back: the bound keeps such leftovers from growing without limit.
 */
const MAX_RESERVED = 10_000;

/**
 * The worker's tasks as the control commands see them, built from its typed events only (so the
 * Worker keeps its internals): `received` makes a task reserved, `started` active, and any end
 * (succeeded, failed, retried, rejected, revoked) forgets it. `total` counts accepted tasks per
 * name, Celery's `stats.total`.
 */
export class ControlTaskTracker {
  readonly reserved = new Map<string, ControlTaskInfo>();
  readonly active = new Map<string, ControlTaskInfo>();
  readonly total = new Map<string, number>();
  readonly #unsubscribe: (() => void)[] = [];

  attach(source: TaskEventSource): void {
    const forget = (e: { taskId?: string | undefined }): void => {
      if (e.taskId === undefined) return;
      this.reserved.delete(e.taskId);
      this.active.delete(e.taskId);
    };
    this.#unsubscribe.push(
      source.on('received', (e) => {
        this.reserved.set(e.taskId, {
          id: e.taskId,
          name: e.name,
          argsrepr: e.argsrepr,
          kwargsrepr: e.kwargsrepr,
          queue: e.queue,
          redelivered: e.deliveryCount > 1,
        });
        if (this.reserved.size > MAX_RESERVED) {
          const oldest = this.reserved.keys().next();
          if (!oldest.done) this.reserved.delete(oldest.value);
        }
      }),
      source.on('started', (e) => {
        const info = this.reserved.get(e.taskId) ?? {
          id: e.taskId,
          name: e.name,
          argsrepr: '',
          kwargsrepr: '',
          queue: '',
          redelivered: false,
        };
        this.reserved.delete(e.taskId);
        this.active.set(e.taskId, { ...info, startedAt: Date.now() });
        this.total.set(e.name, (this.total.get(e.name) ?? 0) + 1);
      }),
      source.on('succeeded', forget),
      source.on('failed', forget),
      source.on('retried', forget),
      source.on('rejected', forget),
      source.on('revoked', forget),
    );
  }

  detach(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}

/** Celery's `Request.info(safe=True)` of a tracked task. */
export function celeryRequestInfo(info: ControlTaskInfo, hostname: string): Record<string, JsonValue> {
  return {
    id: info.id,
    name: info.name,
    // Celery sends the decoded arguments; the worker's events carry their repr (Celery's
    // `safe=True` form), which is what `celery inspect active` prints anyway.
    args: info.argsrepr,
    kwargs: info.kwargsrepr,
    type: info.name,
    hostname,
    time_start: info.startedAt === undefined ? null : info.startedAt / 1000,
    // Conveyor acknowledges late, after the handler (Celery's task_acks_late).
    acknowledged: false,
    delivery_info: { exchange: '', routing_key: info.queue, priority: null, redelivered: info.redelivered },
    worker_pid: process.pid,
  };
}
