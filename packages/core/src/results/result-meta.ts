import { type ExceptionInfo, TaskRevokedError } from '../errors/task-errors.js';
import type { TaskState } from './task-state.js';

/**
 * The stored result document, field for field what Celery's key-value backends store under
 * `celery-task-meta-<id>` (`task_id` last, as Celery writes it). For FAILURE, RETRY and
 * REVOKED, `result` is an ExceptionInfo.
 */
export interface ResultMeta {
  status: TaskState;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  /** ISO date the task became ready; null for non-ready states. */
  date_done: string | null;
  /** Set with extended results: task name, args, kwargs, worker, retries, queue. */
  name?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  worker?: string;
  retries?: number;
  queue?: string;
  task_id: string;
}

/** Builds Celery's exception document from any thrown value. */
export function exceptionInfo(error: unknown): ExceptionInfo {
  if (error instanceof Error) {
    const celery = CELERY_EXCEPTIONS[error.name];
    return {
      exc_type: celery ?? error.name,
      // Celery stores a revocation as TaskRevokedError('expired' | 'revoked' | 'terminated').
      exc_message: [error instanceof TaskRevokedError ? error.why : error.message],
      exc_module: celery ? 'celery.exceptions' : 'builtins',
    };
  }
  return { exc_type: 'Exception', exc_message: [String(error)], exc_module: 'builtins' };
}

/** Conveyor errors whose Celery counterpart Python code catches by name. */
const CELERY_EXCEPTIONS: Record<string, string> = {
  TimeLimitExceededError: 'TimeLimitExceeded',
  SoftTimeLimitExceededError: 'SoftTimeLimitExceeded',
  TaskRevokedError: 'TaskRevokedError',
  UnknownTaskError: 'NotRegistered',
};
