import { ConveyorError, type ConveyorErrorOptions } from './conveyor-error.js';

/** How Celery stores an exception: `exc_type`, `exc_message` (the args list), `exc_module`. */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

/** A message names a task this worker does not know. */
export class UnknownTaskError extends ConveyorError {
  readonly taskName: string;
  constructor(taskName: string) {
    super('UNKNOWN_TASK', `task "${taskName}" is not registered with this worker`);
    this.taskName = taskName;
  }
}

/** Task arguments failed their Standard Schema validation. Never retried. */
export class TaskValidationError extends ConveyorError {
  readonly issues: readonly { message: string; path?: readonly PropertyKey[] | undefined }[];
  constructor(
    taskName: string,
    issues: readonly { message: string; path?: readonly unknown[] | undefined }[],
  ) {
    const detail = issues
      .map((i) =>
        i.path && i.path.length > 0 ? `${i.path.map(pathKey).join('.')}: ${i.message}` : i.message,
      )
      .join('; ');
    super('VALIDATION_FAILED', `arguments of task "${taskName}" are invalid: ${detail}`);
    this.issues = issues.map((i) => ({ message: i.message, path: i.path?.map(pathKey) }));
  }
}

function pathKey(segment: unknown): PropertyKey {
  if (typeof segment === 'object' && segment !== null && 'key' in segment) {
    return (segment as { key: PropertyKey }).key;
  }
  return segment as PropertyKey;
}

/** Thrown by a handler to fail at once, without retries; the task is dead-lettered. */
export class PermanentTaskError extends ConveyorError {
  constructor(message: string, options: ConveyorErrorOptions = {}) {
    super('PERMANENT_FAILURE', message, options);
  }
}

/**
 * A message was delivered more than its delivery limit allows without being settled (its handler
 * kept killing the worker, or kept being given back): the worker dead-letters it instead of running
 * it again. `deliveries` counts the earlier, unsettled deliveries.
 */
export class DeliveryLimitExceededError extends ConveyorError {
  readonly deliveries: number;
  readonly limit: number;
  constructor(deliveries: number, limit: number) {
    super(
      'DELIVERY_LIMIT_EXCEEDED',
      `delivered ${deliveries} times without being settled (maxDeliveries is ${limit})`,
    );
    this.deliveries = deliveries;
    this.limit = limit;
  }
}

/** The task ran and failed for good; `exception` is what the result backend stored. */
export class TaskFailedError extends ConveyorError {
  readonly taskId: string;
  readonly exception: ExceptionInfo;
  readonly traceback: string | null;
  constructor(taskId: string, exception: ExceptionInfo, traceback: string | null = null) {
    super(
      'TASK_FAILED',
      `task ${taskId} failed: ${exception.exc_type}: ${exception.exc_message.map(String).join(', ')}`,
    );
    this.taskId = taskId;
    this.exception = exception;
    this.traceback = traceback;
  }
}

/** The task was revoked (for instance it expired before a worker started it). */
export class TaskRevokedError extends ConveyorError {
  readonly taskId: string;
  readonly why: string;
  constructor(taskId: string, why: string) {
    super('TASK_REVOKED', `task ${taskId} was revoked: ${why}`);
    this.taskId = taskId;
    this.why = why;
  }
}

/** The hard time limit ended the attempt. */
export class TimeLimitExceededError extends ConveyorError {
  constructor(limitMs: number) {
    super('TIME_LIMIT_EXCEEDED', `hard time limit of ${limitMs} ms exceeded`);
  }
}

/** The reason of the AbortSignal a handler receives at its soft time limit. */
export class SoftTimeLimitExceededError extends ConveyorError {
  constructor(limitMs: number) {
    super('SOFT_TIME_LIMIT_EXCEEDED', `soft time limit of ${limitMs} ms exceeded`);
  }
}

/** `handle.get({ timeout })` ran out of time before the task reached a final state. */
export class ResultTimeoutError extends ConveyorError {
  readonly taskId: string;
  constructor(taskId: string, timeoutMs: number) {
    super('RESULT_TIMEOUT', `no final result for task ${taskId} within ${timeoutMs} ms`, { retryable: true });
    this.taskId = taskId;
  }
}
