import { ResultTimeoutError } from '../errors/task-errors.js';
import { InvalidOptionError } from '../errors/transport-errors.js';
import type { ResultBackend, WaitOptions } from './result-backend.js';
import type { ResultMeta } from './result-meta.js';
import { READY_STATES } from './task-state.js';

/** Options of MemoryResultBackend. */
export interface MemoryResultBackendOptions {
  /** Results are forgotten after this long, like Celery's `result_expires`. Default one day. */
  resultExpiresMs?: number;
}

interface Entry {
  meta: ResultMeta;
  expiresAt: number;
}

/** Results in process memory, with waiters woken on ready states (no polling). */
export class MemoryResultBackend implements ResultBackend {
  readonly #entries = new Map<string, Entry>();
  readonly #waiters = new Map<string, Set<(meta: ResultMeta) => void>>();
  readonly #expiresMs: number;
  #storesSincePrune = 0;

  constructor(options: MemoryResultBackendOptions = {}) {
    const expires = options.resultExpiresMs ?? 86_400_000;
    if (!(expires > 0)) throw new InvalidOptionError('resultExpiresMs', 'must be a positive number of ms');
    this.#expiresMs = expires;
  }

  async store(meta: ResultMeta): Promise<void> {
    const now = Date.now();
    const current = this.#live(meta.task_id, now);
    if (current?.status === 'SUCCESS') return;
    this.#entries.set(meta.task_id, { meta, expiresAt: now + this.#expiresMs });
    if (++this.#storesSincePrune >= 10_000) this.#prune(now);
    if (READY_STATES.has(meta.status)) {
      const waiters = this.#waiters.get(meta.task_id);
      if (waiters) {
        this.#waiters.delete(meta.task_id);
        for (const wake of waiters) wake(meta);
      }
    }
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    return this.#live(taskId, Date.now()) ?? null;
  }

  waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const current = this.#live(taskId, Date.now());
    if (current && READY_STATES.has(current.status)) return Promise.resolve(current);
    return new Promise<ResultMeta>((resolve, reject) => {
      let waiters = this.#waiters.get(taskId);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(taskId, waiters);
      }
      const finish = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(taskId) === waiters) this.#waiters.delete(taskId);
      };
      const wake = (meta: ResultMeta): void => {
        finish();
        resolve(meta);
      };
      const onAbort = (): void => {
        finish();
        reject(options.signal?.reason);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new ResultTimeoutError(taskId, options.timeoutMs));
      }, options.timeoutMs);
      waiters.add(wake);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {}

  #live(taskId: string, now: number): ResultMeta | undefined {
    const entry = this.#entries.get(taskId);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(taskId);
      return undefined;
    }
    return entry.meta;
  }

  #prune(now: number): void {
    this.#storesSincePrune = 0;
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id);
  }
}
