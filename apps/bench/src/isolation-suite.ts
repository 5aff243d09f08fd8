import { Client, type IsolationMode, MemoryBroker, MemoryTransport, type Task, Worker } from '@conveyor/core';
import { markdownTable } from './markdown-tables.js';
import { formatCount, median, repeat, suiteHeading } from './stats.js';

/** Where the suite's runners import the task from (beside src/ and dist/ alike). */
const TASKS_MODULE = new URL('../tasks/isolation-tasks.mjs', import.meta.url);
const BATCH = 500;
const CONCURRENCIES = [1, 8] as const;
const MODES = ['in-process', 'thread', 'process'] as const;
type Mode = (typeof MODES)[number];

/** Options of the isolation suite. */
export interface IsolationSuiteOptions {
  tasks: number;
  runs: number;
}

/** One mode at one concurrency. */
export interface IsolationRow {
  mode: Mode;
  concurrency: number;
  tasksPerSecond: number;
  runs: number[];
  /** `worker.start()` (for isolated modes: spawning the first runner and loading the tasks), median ms. */
  startMs: number;
}

/** Results of the isolation suite. */
export interface IsolationSuiteResult {
  rows: IsolationRow[];
}

/**
 * The cost of isolated handlers on memory://: the same no-op task end to end in-process, in
 * worker threads and in child processes, at concurrency 1 (the per-task round trip) and 8 (a pool
 * of runners). Cases run one after the other.
 */
export async function runIsolationSuite(options: IsolationSuiteOptions): Promise<IsolationSuiteResult> {
  const task = ((await import(TASKS_MODULE.href)) as { noop: Task<[number], number> }).noop;
  const rows: IsolationRow[] = [];
  for (const concurrency of CONCURRENCIES) {
    for (const mode of MODES) {
      const measured = await repeat(options.runs, () => measureOnce(task, mode, concurrency, options.tasks));
      const runs = measured.map((m) => m.tasksPerSecond);
      rows.push({
        mode,
        concurrency,
        tasksPerSecond: median(runs),
        runs,
        startMs: median(measured.map((m) => m.startMs)),
      });
    }
  }
  return { rows };
}

async function measureOnce(
  task: Task<[number], number>,
  mode: Mode,
  concurrency: number,
  tasks: number,
): Promise<{ tasksPerSecond: number; startMs: number }> {
  const transport = new MemoryTransport({ broker: new MemoryBroker() });
  const isolation =
    mode === 'in-process' ? {} : { isolation: { mode: mode as IsolationMode, tasksModule: TASKS_MODULE } };
  const worker = new Worker({ transport, tasks: [task], concurrency, ...isolation });
  const client = new Client({ transport });
  let done = 0;
  let target = 0;
  let finish: () => void = () => {};
  let fail: (error: unknown) => void = () => {};
  worker.on('succeeded', () => {
    done += 1;
    if (done === target) finish();
  });
  // A no-op never fails: if one did, the figures would measure retries.
  worker.on('failed', ({ error }) => fail(error));
  const batch: [number][] = Array.from({ length: BATCH }, (_, i) => [i]);
  const run = async (count: number): Promise<number> => {
    done = 0;
    target = count;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const started = performance.now();
    for (let sent = 0; sent < count; sent += BATCH) {
      await client.sendMany(task, sent + BATCH <= count ? batch : batch.slice(0, count - sent));
      await new Promise(setImmediate);
    }
    await finished;
    return (performance.now() - started) / 1000;
  };
  const starting = performance.now();
  await worker.start();
  const startMs = performance.now() - starting;
  // Runners start as tasks need them: one untimed batch fills the pool, so the figure is the
  // steady state and the spawning shows in `start ms` alone.
  await run(BATCH);
  const seconds = await run(tasks);
  await worker.stop();
  await transport.close();
  return { tasksPerSecond: tasks / seconds, startMs };
}

/** Microseconds one task costs on top of the in-process worker at the same concurrency. */
export function overheadMicros(result: IsolationSuiteResult, row: IsolationRow): number | undefined {
  const base = result.rows.find((r) => r.mode === 'in-process' && r.concurrency === row.concurrency);
  if (base === undefined || row.mode === 'in-process') return undefined;
  return 1e6 / row.tasksPerSecond - 1e6 / base.tasksPerSecond;
}

/** The Markdown section for docs/benchmarks.md. */
export function isolationSuiteMarkdown(
  result: IsolationSuiteResult,
  options: IsolationSuiteOptions,
  command: string,
): string {
  const lines = suiteHeading(command, options.tasks, options.runs);
  lines.push(
    'The Worker option `isolation` (docs/isolation.md) runs each handler in a worker thread or a child process',
    'of a pool of `concurrency` runners. The same no-op task (args `[i]`, returns `i`, no result stored) end to',
    'end on memory:// in each mode: a producer sends in batches of 500 while the worker runs them. Overhead is',
    'the time per task above the in-process worker at the same concurrency (1 / rate − 1 / in-process rate): at',
    "concurrency 1 it is one task's round trip to its runner and back; at 8 it is the worker's share once runners",
    'overlap. Each run first fills its pool with an untimed batch of 500: the rates are the steady state. Start is',
    '`worker.start()`: for isolated modes it spawns the first runner and waits for it to load the tasks module',
    '(further runners start as tasks need them, at about the same cost each).',
    '',
  );
  lines.push(
    ...markdownTable(result.rows, [
      { header: 'mode', align: 'left', cell: (r) => r.mode },
      { header: 'concurrency', align: 'right', cell: (r) => String(r.concurrency) },
      { header: 'tasks/s (median)', align: 'right', cell: (r) => formatCount(r.tasksPerSecond) },
      { header: 'µs/task', align: 'right', cell: (r) => (1e6 / r.tasksPerSecond).toFixed(1) },
      {
        header: 'overhead µs/task',
        align: 'right',
        cell: (r) => {
          const micros = overheadMicros(result, r);
          return micros === undefined ? '' : micros.toFixed(1);
        },
      },
      { header: 'start ms', align: 'right', cell: (r) => r.startMs.toFixed(1) },
      { header: 'runs (tasks/s)', align: 'left', cell: (r) => r.runs.map(formatCount).join(', ') },
    ]),
  );
  return lines.join('\n');
}
