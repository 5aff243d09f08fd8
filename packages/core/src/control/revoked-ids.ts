import { InvalidOptionError } from '../errors/transport-errors.js';

/** Revoked ids remembered at most by default (Celery's `CELERY_WORKER_REVOKES_MAX`). */
export const DEFAULT_REVOKES_MAX = 50_000;
/** Seconds a revoked id is remembered by default (Celery's `REVOKE_EXPIRES`). */
export const DEFAULT_REVOKE_EXPIRES_SECONDS = 10_800;

/** Bounds of RevokedIds. */
export interface RevokedIdsOptions {
  /** Most ids kept; the oldest go first. Default 50,000 (Celery's `REVOKES_MAX`). */
  maxIds?: number;
  /** Seconds an id is kept after its revoke. Default 10,800 (Celery's `REVOKE_EXPIRES`). */
  expiresSeconds?: number;
}

/**
 * The ids a worker was told to revoke, with the semantics of Celery's `worker_state.revoked` (a
 * `LimitedSet`): a revoke is remembered, so a task that arrives after it is not run; the memory
 * is bounded by count and by age, so a flood of revokes cannot grow the worker without limit.
 * Revoking an id again renews its age. Kept in memory only: a restarted worker forgets, as Celery
 * does without `--statedb`.
 */
export class RevokedIds {
  readonly maxIds: number;
  readonly expiresMs: number;
  /** id → when it was revoked (ms); insertion order is age order because `add` re-inserts. */
  readonly #ids = new Map<string, number>();
  readonly #now: () => number;

  constructor(options: RevokedIdsOptions = {}, now: () => number = Date.now) {
    const maxIds = options.maxIds ?? DEFAULT_REVOKES_MAX;
    if (!Number.isInteger(maxIds) || maxIds < 1) {
      throw new InvalidOptionError('control.revokes.maxIds', `must be an integer >= 1, got ${maxIds}`);
    }
    const expires = options.expiresSeconds ?? DEFAULT_REVOKE_EXPIRES_SECONDS;
    if (!(expires > 0) || !Number.isFinite(expires)) {
      throw new InvalidOptionError('control.revokes.expiresSeconds', `must be a number > 0, got ${expires}`);
    }
    this.maxIds = maxIds;
    this.expiresMs = expires * 1000;
    this.#now = now;
  }

  /** Number of ids remembered now. */
  get size(): number {
    this.#purge();
    return this.#ids.size;
  }

  add(taskId: string): void {
    this.#ids.delete(taskId);
    this.#ids.set(taskId, this.#now());
    this.#purge();
  }

  has(taskId: string): boolean {
    const at = this.#ids.get(taskId);
    if (at === undefined) return false;
    if (this.#now() - at >= this.expiresMs) {
      this.#ids.delete(taskId);
      return false;
    }
    return true;
  }

  /** The ids remembered now, oldest first (Celery's `inspect revoked`). */
  ids(): string[] {
    this.#purge();
    return [...this.#ids.keys()];
  }

  #purge(): void {
    const oldestKept = this.#now() - this.expiresMs;
    for (const [id, at] of this.#ids) {
      if (this.#ids.size > this.maxIds || at <= oldestKept) this.#ids.delete(id);
      else break;
    }
  }
}
