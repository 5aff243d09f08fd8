import { SoftTimeLimitExceededError, TimeLimitExceededError } from '../../errors/task-errors.js';
import { InvalidOptionError } from '../../errors/transport-errors.js';
import { type LongTimeout, setLongTimeout } from '../long-timeout.js';
import type { TaskContext } from '../task-context.js';
import type { ResolvedIsolation } from './isolation-options.js';
import { Runner } from './runner.js';

/** The time limits of one attempt and the worker's signal for it (aborted at a forced shutdown). */
export interface IsolatedRunLimits {
  softMs: number | undefined;
  hardMs: number | undefined;
  signal: AbortSignal;
}

/**
 * At most `size` runners (the worker's concurrency), started when a task needs one and kept for
 * the next; one that crashed or was killed at its hard time limit is dropped and a fresh one takes
 * the next task. `close()` terminates them all.
 */
export class RunnerPool {
  readonly isolation: ResolvedIsolation;
  readonly #size: number;
  readonly #idle: Runner[] = [];
  readonly #all = new Set<Runner>();
  #closed = false;

  constructor(isolation: ResolvedIsolation, size: number) {
    this.isolation = isolation;
    this.#size = size;
  }

  /**
   * Starts one runner and checks that the module exports every task the worker runs, so that a
   * wrong module fails `worker.start()` instead of every task. The runner stays in the pool.
   */
  async start(taskNames: readonly string[]): Promise<void> {
    this.#closed = false;
    const runner = this.#spawn();
    let exported: string[];
    try {
      exported = await runner.ready;
    } catch (error) {
      await runner.kill(error);
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new InvalidOptionError(
        'isolation.tasksModule',
        `cannot load the tasks in a ${this.isolation.mode} runner: ${detail}`,
        { cause: error },
      );
    }
    const missing = taskNames.filter((name) => !exported.includes(name));
    if (missing.length > 0) {
      await runner.kill(new Error('pool start failed'));
      throw new InvalidOptionError(
        'isolation.tasksModule',
        `${this.isolation.tasksModule.href} does not export ${missing.map((n) => `"${n}"`).join(', ')}, which the worker runs (it exports ${exported.map((n) => `"${n}"`).join(', ')})`,
      );
    }
    this.#idle.push(runner);
  }

  /**
   * Runs `task` in a runner under the time limits: the soft limit aborts the handler's signal in
   * the runner; the hard limit kills the runner and rejects with TimeLimitExceededError. The
   * worker's signal is passed on to the handler's.
   */
  async run(
    task: string,
    args: unknown[],
    context: TaskContext,
    limits: IsolatedRunLimits,
  ): Promise<unknown> {
    const runner = await this.#acquire();
    const { softMs, hardMs, signal } = limits;
    const onAbort = (): void => runner.abort(signal.reason);
    let soft: LongTimeout | undefined;
    let hard: LongTimeout | undefined;
    try {
      const job = runner.run({
        task,
        args,
        context: {
          id: context.id,
          name: context.name,
          retries: context.retries,
          deliveryCount: context.deliveryCount,
          kwargs: context.kwargs,
          headers: context.headers,
        },
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      if (softMs !== undefined) {
        soft = setLongTimeout(() => runner.abort(new SoftTimeLimitExceededError(softMs)), softMs);
      }
      if (hardMs !== undefined) {
        hard = setLongTimeout(() => void runner.kill(new TimeLimitExceededError(hardMs)), hardMs);
      }
      return await job;
    } finally {
      soft?.clear();
      hard?.clear();
      signal.removeEventListener('abort', onAbort);
      this.#release(runner);
    }
  }

  /** Terminates every runner; the jobs still running are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    const runners = [...this.#all];
    this.#all.clear();
    const reason = new Error('the worker stopped: its runners were terminated');
    await Promise.all(runners.map((runner) => runner.kill(reason)));
  }

  async #acquire(): Promise<Runner> {
    for (let runner = this.#idle.pop(); runner !== undefined; runner = this.#idle.pop()) {
      if (!runner.gone) return runner;
    }
    // The worker runs at most `size` tasks at once, so a task that finds no idle runner has room
    // for a new one (a killed runner leaves the count as soon as it is killed).
    const runner = this.#spawn();
    await runner.ready;
    return runner;
  }

  #spawn(): Runner {
    if (this.#closed) throw new Error('the worker stopped: its runners were terminated');
    const runner = new Runner(this.isolation, (gone) => {
      this.#all.delete(gone);
      const index = this.#idle.indexOf(gone);
      if (index >= 0) this.#idle.splice(index, 1);
    });
    this.#all.add(runner);
    return runner;
  }

  #release(runner: Runner): void {
    if (runner.gone) return;
    if (this.#closed || this.#idle.length >= this.#size) void runner.kill(new Error('pool is full'));
    else this.#idle.push(runner);
  }
}
