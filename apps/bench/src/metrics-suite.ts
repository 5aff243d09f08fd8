import { randomUUID } from 'node:crypto';
import {
  attachClientMetrics,
  attachWorkerMetrics,
  Client,
  defineTask,
  MemoryBroker,
  MemoryTransport,
  type MetricRegistry,
  Worker,
} from '@conveyor/core';
import { markdownTable } from './markdown-tables.js';
import { formatCount, median, suiteHeading } from './stats.js';

const BATCH = 500;
const CONCURRENCY = 8;
/** How often the scraping case renders the registry, as a Prometheus server would (much more often). */
const SCRAPE_EVERY_MS = 100;

/** Metrics off, on, or on and scraped while the tasks run. */
export type MetricsMode = 'off' | 'on' | 'on, scraped every 100 ms';
const MODES: readonly MetricsMode[] = ['off', 'on', 'on, scraped every 100 ms'];

/** Options of the metrics suite. */
export interface MetricsSuiteOptions {
  /** Tasks per run on memory://. */
  tasks: number;
  runs: number;
}

/** One case. */
export interface MetricsRow {
  mode: MetricsMode;
  tasksPerSecond: number;
  runs: number[];
  /** CPU time of this process per task (user + system), median: less moved by other load than the rate. */
  cpuMicrosPerTask: number;
  /** Scrapes rendered during the last run (scraping case only). */
  scrapes: number;
}

/** Results of the metrics suite. */
export interface MetricsSuiteResult {
  rows: MetricsRow[];
  /** CPU µs of one render of the registry after a run (median), and its size in bytes. */
  renderMicros: number;
  renderBytes: number;
}

/**
 * The cost of Prometheus metrics (docs/observability.md): the same no-op task end to end on memory://
 * with no metrics, with `attachWorkerMetrics` and `attachClientMetrics` (and the Client's
 * `sentTimestamp`, so latency is measured too), and with the registry also rendered every 100 ms.
 */
export async function runMetricsSuite(options: MetricsSuiteOptions): Promise<MetricsSuiteResult> {
  const rows: MetricsRow[] = [];
  let registry: MetricRegistry | undefined;
  // The modes take turns within each round, so that load from other jobs and the warming of the
  // process fall on all of them alike instead of on whichever case runs first.
  const measured = new Map<MetricsMode, { tasksPerSecond: number; cpuMicrosPerTask: number }[]>(
    MODES.map((mode) => [mode, []]),
  );
  const scrapes = new Map<MetricsMode, number>();
  for (let round = 0; round <= options.runs; round++) {
    for (const mode of MODES) {
      const run = await measureOnce(options.tasks, mode);
      scrapes.set(mode, run.scrapes);
      registry = run.registry ?? registry;
      // Round 0 warms up and is not reported.
      if (round > 0) measured.get(mode)!.push(run);
    }
  }
  for (const mode of MODES) {
    const runs = measured.get(mode)!.map((m) => m.tasksPerSecond);
    rows.push({
      mode,
      tasksPerSecond: median(runs),
      runs,
      cpuMicrosPerTask: median(measured.get(mode)!.map((m) => m.cpuMicrosPerTask)),
      scrapes: scrapes.get(mode) ?? 0,
    });
  }
  const renders: number[] = [];
  let renderBytes = 0;
  for (let i = 0; i < 21; i++) {
    const started = process.cpuUsage();
    const text = await registry!.render();
    const used = process.cpuUsage(started);
    renders.push(used.user + used.system);
    renderBytes = Buffer.byteLength(text);
  }
  return { rows, renderMicros: median(renders), renderBytes };
}

const noop = defineTask({ name: 'bench.metered', ignoreResult: true, handler: ([i]: [number]) => i });

async function measureOnce(
  tasks: number,
  mode: MetricsMode,
): Promise<{ tasksPerSecond: number; cpuMicrosPerTask: number; scrapes: number; registry?: MetricRegistry }> {
  const queue = `bench-metrics-${randomUUID().slice(0, 8)}`;
  const transport = new MemoryTransport({ broker: new MemoryBroker() });
  const worker = new Worker({ transport, tasks: [noop], queues: [queue], concurrency: CONCURRENCY });
  const client = new Client({ transport, sentTimestamp: mode !== 'off' });
  const registry = mode === 'off' ? undefined : attachWorkerMetrics(worker).registry;
  if (registry !== undefined) attachClientMetrics(client, registry);
  let done = 0;
  let finish: () => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  worker.on('succeeded', () => {
    done += 1;
    if (done === tasks) finish();
  });
  worker.on('failed', ({ error }) => fail(error));
  worker.on('rejected', ({ reason }) => fail(new Error(reason)));
  let scrapes = 0;
  const scraper =
    mode === 'on, scraped every 100 ms'
      ? setInterval(() => {
          void registry!.render().then(() => {
            scrapes += 1;
          });
        }, SCRAPE_EVERY_MS)
      : undefined;
  try {
    await worker.start();
    const batch: [number][] = Array.from({ length: BATCH }, (_, i) => [i]);
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    for (let sent = 0; sent < tasks; sent += BATCH) {
      const slice = sent + BATCH <= tasks ? batch : batch.slice(0, tasks - sent);
      await Promise.all(slice.map((args) => client.send(noop, args, { queue })));
    }
    await finished;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const result = {
      tasksPerSecond: tasks / seconds,
      cpuMicrosPerTask: (cpu.user + cpu.system) / tasks,
      scrapes,
    };
    return registry === undefined ? result : { ...result, registry };
  } finally {
    clearInterval(scraper);
    await worker.stop();
    await transport.close();
  }
}

/** The Markdown section for docs/benchmarks.md. */
export function metricsSuiteMarkdown(
  result: MetricsSuiteResult,
  options: MetricsSuiteOptions,
  command: string,
): string {
  const lines = suiteHeading(command, options.tasks, options.runs);
  lines.push(
    'Prometheus metrics (docs/observability.md): the same no-op task end to end on memory:// (one process, Client',
    `and Worker, concurrency ${CONCURRENCY}, each task sent by its own \`send\`, 500 in flight, no result stored)`,
    'with no metrics, with `attachWorkerMetrics` and `attachClientMetrics` (counters, the duration and latency',
    "histograms, the Client's `sentTimestamp` header), and with the registry also rendered every 100 ms (a",
    'Prometheus server scrapes every 15 s or so). CPU µs/task is the process CPU time per task (user + system);',
    'the overhead is its difference from off. The three modes take turns in every round (a warm-up round first).',
    '',
  );
  const off = result.rows.find((r) => r.mode === 'off');
  lines.push(
    ...markdownTable(result.rows, [
      { header: 'metrics', align: 'left', cell: (r) => r.mode },
      { header: 'tasks/s (median)', align: 'right', cell: (r) => formatCount(r.tasksPerSecond) },
      { header: 'µs/task', align: 'right', cell: (r) => (1e6 / r.tasksPerSecond).toFixed(1) },
      { header: 'CPU µs/task', align: 'right', cell: (r) => r.cpuMicrosPerTask.toFixed(1) },
      {
        header: 'CPU overhead µs/task',
        align: 'right',
        cell: (r) =>
          r.mode === 'off' || off === undefined ? '' : (r.cpuMicrosPerTask - off.cpuMicrosPerTask).toFixed(1),
      },
      { header: 'runs (tasks/s)', align: 'left', cell: (r) => r.runs.map(formatCount).join(', ') },
    ]),
    '',
    `One render of the registry after a run (one queue, one task name): ${result.renderMicros.toFixed(0)} CPU µs, ` +
      `${formatCount(result.renderBytes)} bytes.`,
  );
  return lines.join('\n');
}
