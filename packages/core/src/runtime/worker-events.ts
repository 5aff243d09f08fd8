/** Events a Worker emits, in lifecycle order. Payloads never include message bodies' secrets beyond args. */
export interface WorkerEvents {
  /** A task message arrived and decoded. */
  received: {
    taskId: string;
    name: string;
    deliveryCount: number;
    retries: number;
    queue: string;
    /** When the producer sent it (epoch ms), from the `x-conveyor-sent-at` header; undefined without. */
    sentAt: number | undefined;
    /** Not to run before this instant (a countdown, or a retry's backoff). */
    eta: Date | null;
    /** Celery's `argsrepr`, `kwargsrepr`, workflow ids and expiry, for Celery's task-received event. */
    argsrepr: string;
    kwargsrepr: string;
    rootId: string;
    parentId: string | null;
    expires: Date | null;
  };
  /** The handler is about to run. */
  started: { taskId: string; name: string };
  succeeded: { taskId: string; name: string; result: unknown; runtimeMs: number };
  /** The attempt failed and will be retried after `delayMs`. */
  retried: { taskId: string; name: string; error: unknown; retries: number; delayMs: number };
  /** The task failed for good (it is then dead-lettered: see `rejected`). */
  failed: { taskId: string; name: string; error: unknown; retries: number };
  /** A message went to the dead-letter queue; `taskId` is absent when it could not be decoded. */
  rejected: { taskId: string | undefined; name: string | undefined; reason: string; queue: string };
  /** Expired before it started: not run, state REVOKED. */
  revoked: { taskId: string; name: string; reason: string };
  /** Something the worker could not do (an ack failed, a result could not be stored). */
  error: { error: unknown; taskId?: string };
}

/** What `stop()` reports. */
export interface ShutdownReport {
  /** In-flight tasks that finished before the deadline. */
  finished: number;
  /** Tasks given back to the broker (prefetched but not started, or still running at the deadline). */
  returned: number;
}
