import type { ResultMeta } from './result-meta.js';

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Give up after this many ms with ResultTimeoutError. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Where task results live. Implementations follow Celery's rules: a stored SUCCESS is never
 * overwritten, and a missing result means PENDING. The Redis backend of `@conveyor/redis`
 * writes exactly Celery's keys, so Python reads what Conveyor stores and the reverse.
 */
export interface ResultBackend {
  /** Stores a state; a no-op when SUCCESS is already stored. */
  store(meta: ResultMeta): Promise<void>;
  /** The stored document, or null (PENDING). */
  get(taskId: string): Promise<ResultMeta | null>;
  /** Resolves with the document once the task is ready (SUCCESS, FAILURE, REVOKED). */
  waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta>;
  close?(): Promise<void>;
}
