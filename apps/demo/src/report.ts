/**
 * Counting what the worker reports, and printing progress and the final summary.
 */
import type { Worker } from '@conveyor/core';

/** Final state of one task, as the worker's events tell it. */
export type Outcome = 'succeeded' | 'dead-lettered' | 'revoked';

/** Counts of the tasks this run sent. */
export interface Counts {
  succeeded: number;
  deadLettered: number;
  revoked: number;
  /** Retry attempts scheduled (one task can retry more than once). */
  retries: number;
  /** Tasks that needed at least one retry. */
  tasksRetried: number;
}

/**
 * Listens to a worker and tracks the final state of every task. Events can arrive before the
 * producer learns a task's id (the worker may finish it while `sendMany` is still returning), so
 * outcomes are recorded by id and matched with the sent ids as they become known.
 */
export class Tally {
  readonly #outcomes = new Map<string, Outcome>();
  readonly #retries = new Map<string, number>();
  readonly #reasons = new Map<string, string>();
  readonly #expected = new Set<string>();
  readonly #total: number;
  #finishedExpected = 0;
  #sendingDone = false;
  #onComplete: (() => void) | undefined;
  /** Messages dead-lettered that this run did not send (undecodable, or left over on the broker). */
  foreignRejections = 0;
  /** Worker `error` events (a failed ack, a result that could not be stored). */
  readonly errors: unknown[] = [];
  readonly #unsubscribe: (() => void)[];

  constructor(worker: Worker, total: number, onFinished?: (finished: number) => void) {
    this.#total = total;
    const finish = (taskId: string, outcome: Outcome): void => {
      if (this.#outcomes.has(taskId)) return; // at-least-once: a redelivered duplicate
      this.#outcomes.set(taskId, outcome);
      if (this.#expected.has(taskId)) this.#finishedOne();
      onFinished?.(this.#outcomes.size);
    };
    this.#unsubscribe = [
      worker.on('succeeded', (e) => finish(e.taskId, 'succeeded')),
      worker.on('retried', (e) => this.#retries.set(e.taskId, (this.#retries.get(e.taskId) ?? 0) + 1)),
      worker.on('rejected', (e) => {
        if (e.taskId === undefined) {
          this.foreignRejections += 1;
          return;
        }
        this.#reasons.set(e.taskId, e.reason);
        finish(e.taskId, 'dead-lettered');
      }),
      worker.on('revoked', (e) => finish(e.taskId, 'revoked')),
      worker.on('error', (e) => this.errors.push(e.error)),
    ];
  }

  /** Registers a task id this run sent. */
  expect(taskId: string): void {
    if (this.#expected.has(taskId)) return;
    this.#expected.add(taskId);
    if (this.#outcomes.has(taskId)) this.#finishedOne();
  }

  /** Call once every task is sent. */
  sendingDone(): void {
    this.#sendingDone = true;
    this.#checkComplete();
  }

  /** Resolves true once every sent task reached a final state, false after `timeoutMs`. */
  waitForAll(timeoutMs: number): Promise<boolean> {
    if (this.complete) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onComplete = undefined;
        resolve(false);
      }, timeoutMs);
      this.#onComplete = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  get complete(): boolean {
    return this.#sendingDone && this.#finishedExpected === this.#expected.size;
  }

  /** Sent tasks still without a final state. */
  get unfinished(): number {
    return this.#expected.size - this.#finishedExpected;
  }

  outcome(taskId: string): Outcome | undefined {
    return this.#outcomes.get(taskId);
  }

  retriesOf(taskId: string): number {
    return this.#retries.get(taskId) ?? 0;
  }

  reasonOf(taskId: string): string | undefined {
    return this.#reasons.get(taskId);
  }

  /** Counts over the tasks this run sent. */
  counts(): Counts {
    const counts: Counts = { succeeded: 0, deadLettered: 0, revoked: 0, retries: 0, tasksRetried: 0 };
    for (const id of this.#expected) {
      const outcome = this.#outcomes.get(id);
      if (outcome === 'succeeded') counts.succeeded += 1;
      else if (outcome === 'dead-lettered') counts.deadLettered += 1;
      else if (outcome === 'revoked') counts.revoked += 1;
      const retries = this.#retries.get(id) ?? 0;
      counts.retries += retries;
      if (retries > 0) counts.tasksRetried += 1;
    }
    return counts;
  }

  /** Live counts over every event so far (for progress lines). */
  liveCounts(): { finished: number; succeeded: number; deadLettered: number; retries: number } {
    let succeeded = 0;
    let deadLettered = 0;
    for (const outcome of this.#outcomes.values()) {
      if (outcome === 'succeeded') succeeded += 1;
      else if (outcome === 'dead-lettered') deadLettered += 1;
    }
    let retries = 0;
    for (const n of this.#retries.values()) retries += n;
    return { finished: this.#outcomes.size, succeeded, deadLettered, retries };
  }

  get total(): number {
    return this.#total;
  }

  dispose(): void {
    for (const off of this.#unsubscribe) off();
  }

  #finishedOne(): void {
    this.#finishedExpected += 1;
    this.#checkComplete();
  }

  #checkComplete(): void {
    if (this.complete && this.#onComplete) {
      const done = this.#onComplete;
      this.#onComplete = undefined;
      done();
    }
  }
}

/** Prints a progress line each time another ~10% of the tasks reached a final state. */
export function progressPrinter(
  total: number,
  startedAt: () => number,
  live: () => ReturnType<Tally['liveCounts']>,
  log: (line: string) => void,
): (finished: number) => void {
  let nextTenth = 1;
  return (finished) => {
    if (total === 0 || nextTenth > 10) return;
    const tenths = Math.min(10, Math.floor((finished * 10) / total));
    if (tenths < nextTenth) return;
    nextTenth = tenths + 1;
    const c = live();
    const seconds = ((performance.now() - startedAt()) / 1000).toFixed(2);
    log(
      `  [${String(tenths * 10).padStart(3)}%] ${String(c.finished).padStart(String(total).length)}/${total} finished` +
        ` | ${c.succeeded} succeeded, ${c.deadLettered} dead-lettered, ${c.retries} retries | ${seconds}s`,
    );
  };
}

/** One example result, read back through `handle.get()`. */
export interface ExampleResult {
  task: string;
  args: unknown[];
  /** What `handle.get()` returned, or the error it threw (`exc_type: message`). */
  outcome: string;
  retries: number;
}

/** Everything the demo reports at the end. */
export interface DemoSummary {
  /** Broker URL with any password hidden. */
  broker: string;
  queue: string;
  concurrency: number;
  sent: number;
  sentByTask: Record<string, number>;
  /** What the plan says should happen (successes, successes after a retry, dead-letters). */
  expected: { success: number; retryThenSuccess: number; deadLetter: number };
  succeeded: number;
  retries: number;
  tasksRetried: number;
  deadLettered: number;
  revoked: number;
  /** Depth of the dead-letter queue at the end, and how much this run added to it. */
  deadLetterQueue: { name: string; depth: number; added: number };
  /** Messages dead-lettered that this run did not send. */
  foreignRejections: number;
  workerErrors: number;
  elapsedMs: number;
  tasksPerSecond: number;
  /** True when every sent task reached a final state in time. */
  complete: boolean;
  unfinished: number;
  examples: ExampleResult[];
}

/** The summary as printed at the end of a run. */
export function formatSummary(s: DemoSummary): string {
  const byTask = Object.entries(s.sentByTask)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const label = (text: string): string => `  ${text.padEnd(15)}`;
  const lines = [
    '',
    'Summary',
    `${label('broker')}${s.broker} (queue "${s.queue}", concurrency ${s.concurrency})`,
    `${label('tasks sent')}${s.sent}  (${byTask})`,
    `${label('succeeded')}${s.succeeded}`,
    `${label('retries')}${s.retries}  (${s.tasksRetried} tasks failed at first and were retried after a short backoff)`,
    `${label('dead-lettered')}${s.deadLettered}  (${s.deadLetterQueue.name} depth ${s.deadLetterQueue.depth}, +${s.deadLetterQueue.added} this run)`,
  ];
  if (s.revoked > 0) lines.push(`${label('revoked')}${s.revoked}`);
  lines.push(
    `${label('elapsed')}${(s.elapsedMs / 1000).toFixed(2)} s`,
    `${label('throughput')}${Math.round(s.tasksPerSecond)} tasks/s`,
  );
  const e = s.expected;
  const matches =
    s.complete && s.succeeded === e.success + e.retryThenSuccess && s.deadLettered === e.deadLetter;
  lines.push(
    `${label('expected')}${e.success + e.retryThenSuccess} succeeded, ${e.deadLetter} dead-lettered` +
      (matches ? '  ✓ matches' : '  ✗ differs'),
  );
  if (s.foreignRejections > 0) {
    lines.push(`${label('note')}${s.foreignRejections} messages this run did not send were dead-lettered`);
  }
  if (s.workerErrors > 0) lines.push(`${label('worker errors')}${s.workerErrors}`);
  if (!s.complete) {
    lines.push(`${label('INCOMPLETE')}${s.unfinished} tasks did not reach a final state before the timeout`);
  }
  if (s.examples.length > 0) {
    lines.push('', 'Example results (read back with handle.get())');
    for (const example of s.examples) {
      const call = `${example.task}(${example.args.map((a) => JSON.stringify(a)).join(', ')})`;
      const retried =
        example.retries > 0
          ? `  [after ${example.retries} ${example.retries === 1 ? 'retry' : 'retries'}]`
          : '';
      lines.push(`  ${call}`, `    → ${example.outcome}${retried}`);
    }
  }
  return lines.join('\n');
}

/** JSON of a value, cut to `max` characters. */
export function preview(value: unknown, max = 110): string {
  return truncate(JSON.stringify(value) ?? String(value), max);
}

/** `text` cut to `max` characters. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
