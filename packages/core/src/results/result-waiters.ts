import { ResultTimeoutError } from '../errors/task-errors.js';
import type { WaitOptions } from './result-backend.js';
import type { ResultMeta } from './result-meta.js';

/** One pending wait: settle it with a result, or fail it. */
export interface PendingWait {
  promise: Promise<ResultMeta>;
  /** Resolves this wait (a no-op once it has ended). */
  wake(meta: ResultMeta): void;
  /** Rejects this wait (a no-op once it has ended). */
  fail(error: unknown): void;
}

/**
 * Callers waiting for task results, by key, each with its timeout and AbortSignal. Shared by the
 * result backends, which differ only in how they learn that a result is ready.
 */
export class ResultWaiters {
  readonly #byKey = new Map<string, Set<(meta: ResultMeta) => void>>();
  readonly #onEmpty: (key: string) => void;

  /** `onEmpty` runs when the last waiter of a key leaves (to unsubscribe, say). */
  constructor(onEmpty: (key: string) => void = () => {}) {
    this.#onEmpty = onEmpty;
  }

  /** True while someone waits on `key`. */
  isWatched(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Resolves every wait on `key` with `meta`. */
  wake(key: string, meta: ResultMeta): void {
    const waiters = this.#byKey.get(key);
    if (waiters) for (const wake of [...waiters]) wake(meta);
  }

  /** Registers a wait on `key` for task `taskId`; it ends with ResultTimeoutError after `timeoutMs`. */
  wait(key: string, taskId: string, options: WaitOptions): PendingWait {
    let waiters = this.#byKey.get(key);
    if (!waiters) {
      waiters = new Set();
      this.#byKey.set(key, waiters);
    }
    const set = waiters;
    let resolve!: (meta: ResultMeta) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<ResultMeta>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    let ended = false;
    const finish = (): boolean => {
      if (ended) return false;
      ended = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      set.delete(wake);
      if (set.size === 0 && this.#byKey.get(key) === set) {
        this.#byKey.delete(key);
        this.#onEmpty(key);
      }
      return true;
    };
    const wake = (meta: ResultMeta): void => {
      if (finish()) resolve(meta);
    };
    const fail = (error: unknown): void => {
      if (finish()) reject(error);
    };
    const onAbort = (): void => fail(options.signal?.reason);
    const timer = setTimeout(
      () => fail(new ResultTimeoutError(taskId, options.timeoutMs)),
      options.timeoutMs,
    );
    set.add(wake);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    return { promise, wake, fail };
  }
}
