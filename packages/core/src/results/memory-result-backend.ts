import { InvalidOptionError } from '../errors/transport-errors.js';
import type { ResultBackend, WaitOptions } from './result-backend.js';
import type { ResultMeta } from './result-meta.js';
import { ResultWaiters } from './result-waiters.js';
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
  readonly #waiters = new ResultWaiters();
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
      this.#waiters.wake(meta.task_id, meta);
    }
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    return this.#live(taskId, Date.now()) ?? null;
  }

  waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const current = this.#live(taskId, Date.now());
    if (current && READY_STATES.has(current.status)) return Promise.resolve(current);
    return this.#waiters.wait(taskId, taskId, options).promise;
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
