import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What every suite's contenders share: run shapes, batching, countdowns, clocks. */

/** Messages per bulk add (Conveyor `sendMany`, BullMQ `addBulk`, bee-queue `saveAll`, one LPUSH, 500 confirmed publishes). */
export const ENQUEUE_BATCH = 500;

/**
 * One throughput run of one contender, in steps the suite times separately. `open` connects the
 * producer and the (not yet running) worker (not timed); `enqueue` adds N no-op jobs; `process`
 * starts the worker and resolves when the N-th job is done (acknowledged); `close` closes every
 * connection the run opened.
 */
export interface ThroughputRun {
  open(): Promise<void>;
  enqueue(): Promise<void>;
  process(): Promise<void>;
  close(): Promise<void>;
}

/** What a pickup-latency worker reports: its handler started (with the sender's timestamp), the job is done. */
export interface PickupHooks {
  started(sentAt: number): void;
  done(): void;
}

/** An idle worker waiting for one job at a time; `send` enqueues one job carrying `sentAt`. */
export interface PickupRun {
  start(): Promise<void>;
  send(sentAt: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * One library a broker suite measures. `level` is what the suite varies between cases: the worker's
 * concurrency (Redis) or the consumer's prefetch (AMQP).
 */
export interface BrokerContender<Id extends string, Target> {
  id: Id;
  name: string;
  throughput(target: Target, tasks: number, level: number): ThroughputRun;
  pickup(target: Target, level: number, hooks: PickupHooks): PickupRun;
}

/** Wall-clock ms with sub-ms precision, comparable across the sender and the handler (same process). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const require = createRequire(import.meta.url);

export function versionOf(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    // Packages whose `exports` hide package.json (amqplib): walk up from their entry point.
    for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (manifest.name === pkg) return manifest.version;
    }
    return '?';
  }
}

/**
 * How many batches `inBatches` keeps in flight: as many as asked, but never more than there are
 * batches. The suites' tables report this, so they show what ran rather than what was asked.
 */
export function batchesInFlight(tasks: number, inFlight: number, batch = ENQUEUE_BATCH): number {
  return Math.max(1, Math.min(inFlight, Math.ceil(tasks / batch)));
}

/**
 * Runs `send(from, count)` over [0, tasks) in batches of `batch` (default ENQUEUE_BATCH),
 * `inFlight` batches at once.
 */
export async function inBatches(
  tasks: number,
  inFlight: number,
  send: (from: number, count: number) => Promise<unknown>,
  batch = ENQUEUE_BATCH,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks) {
      const from = next;
      const count = Math.min(batch, tasks - from);
      next += count;
      await send(from, count);
    }
  };
  await Promise.all(Array.from({ length: batchesInFlight(tasks, inFlight, batch) }, lane));
}

/** Counts completions; `finished` resolves at `total`, or rejects on `fail` or `timeoutMs` after `arm`. */
export class Countdown {
  readonly finished: Promise<void>;
  readonly #total: number;
  readonly #what: string;
  readonly #timeoutMs: number;
  #left: number;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(total: number, what: string, timeoutMs: number) {
    this.#total = total;
    this.#left = total;
    this.#what = what;
    this.#timeoutMs = timeoutMs;
    this.finished = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const disarm = (): void => clearTimeout(this.#timer);
    this.finished.then(disarm, disarm);
  }

  /** Starts the clock: a stuck contender fails the run instead of hanging the bench. */
  arm(): void {
    this.#timer = setTimeout(() => {
      this.fail(
        new Error(`${this.#what}: ${this.#left} of ${this.#total} jobs not done after ${this.#timeoutMs} ms`),
      );
    }, this.#timeoutMs);
  }

  tick(): void {
    this.#left -= 1;
    if (this.#left === 0) this.#resolve();
  }

  fail(error: unknown): void {
    this.#reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Generous: 2 minutes plus 5 ms per job (the slowest contender at concurrency 1 does ~1 ms per job). */
export function processTimeoutMs(tasks: number): number {
  return 120_000 + tasks * 5;
}
