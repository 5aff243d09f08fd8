import { randomUUID } from 'node:crypto';
import { Client, defineTask, MemoryBroker, MemoryTransport, type Transport, Worker } from '@conveyor/core';
import { queueKeys, RedisTransport } from '@conveyor/redis';
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Redis } from 'ioredis';
import { markdownTable } from './markdown-tables.js';
import { formatCount, median, suiteHeading } from './stats.js';

const BATCH = 500;
const CONCURRENCY = 8;

/** The three ways a process can run Conveyor with respect to tracing. */
export type TracingMode = 'off' | 'no-op tracer' | 'SDK, in-memory exporter';
const MODES: readonly TracingMode[] = ['off', 'no-op tracer', 'SDK, in-memory exporter'];

/** Options of the telemetry suite. */
export interface TelemetrySuiteOptions {
  /** Tasks per run on memory://. */
  tasks: number;
  /** Tasks per run on Redis; 0 leaves Redis out. */
  redisTasks: number;
  runs: number;
  /** Redis the suite uses (its own queue names, deleted afterwards). */
  redis?: { host: string; port: number; db: number };
}

/** One case: a transport with one tracing mode. */
export interface TelemetryRow {
  transport: 'memory://' | 'redis';
  mode: TracingMode;
  tasks: number;
  tasksPerSecond: number;
  runs: number[];
  /** CPU time of this process per task (user + system), median: less moved by other load than the rate. */
  cpuMicrosPerTask: number;
  /** Spans the exporter received per task in the last run (2 with the SDK: send and process). */
  spansPerTask: number;
}

/** Results of the telemetry suite. */
export interface TelemetrySuiteResult {
  rows: TelemetryRow[];
}

/**
 * The cost of OpenTelemetry tracing (docs/observability.md): the same no-op task end to end with
 * tracing off, on with `@opentelemetry/api` but no SDK (the no-op tracer every span costs when
 * nothing is registered), and on with a real SDK (async-hooks context, W3C propagation, spans
 * exported to memory), on memory:// and on Redis.
 */
export async function runTelemetrySuite(options: TelemetrySuiteOptions): Promise<TelemetrySuiteResult> {
  const rows: TelemetryRow[] = [];
  const transports: { name: TelemetryRow['transport']; tasks: number; open: () => Transport }[] = [
    {
      name: 'memory://',
      tasks: options.tasks,
      open: () => new MemoryTransport({ broker: new MemoryBroker() }),
    },
  ];
  const redis = options.redis ?? { host: '127.0.0.1', port: 6379, db: 14 };
  if (options.redisTasks > 0) {
    transports.push({
      name: 'redis',
      tasks: options.redisTasks,
      open: () => new RedisTransport({ ...redis }),
    });
  }
  for (const transport of transports) {
    // The modes take turns within each round, so that load from other jobs and the warming of the
    // process fall on all of them alike instead of on whichever case runs first.
    const measured = new Map<TracingMode, { tasksPerSecond: number; cpuMicrosPerTask: number }[]>(
      MODES.map((mode) => [mode, []]),
    );
    const spansPerTask = new Map<TracingMode, number>();
    for (let round = 0; round <= options.runs; round++) {
      for (const mode of MODES) {
        const exporter = mode === 'SDK, in-memory exporter' ? installSdk() : undefined;
        try {
          const run = await measureOnce(transport.tasks, transport.open, mode !== 'off', redis);
          spansPerTask.set(mode, (exporter?.getFinishedSpans().length ?? 0) / transport.tasks);
          // Round 0 warms up and is not reported.
          if (round > 0) measured.get(mode)!.push(run);
        } finally {
          if (exporter) uninstallSdk(exporter);
        }
      }
    }
    for (const mode of MODES) {
      const runs = measured.get(mode)!.map((m) => m.tasksPerSecond);
      rows.push({
        transport: transport.name,
        mode,
        tasks: transport.tasks,
        tasksPerSecond: median(runs),
        runs,
        cpuMicrosPerTask: median(measured.get(mode)!.map((m) => m.cpuMicrosPerTask)),
        spansPerTask: spansPerTask.get(mode) ?? 0,
      });
    }
  }
  return { rows };
}

/** A real SDK registered globally, as an application registers it. */
function installSdk(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  otel.trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  return exporter;
}

function uninstallSdk(exporter: InMemorySpanExporter): void {
  exporter.reset();
  otel.trace.disable();
  otel.propagation.disable();
  otel.context.disable();
}

const noop = defineTask({ name: 'bench.traced', ignoreResult: true, handler: ([i]: [number]) => i });

async function measureOnce(
  tasks: number,
  open: () => Transport,
  tracing: boolean,
  redis: { host: string; port: number; db: number },
): Promise<{ tasksPerSecond: number; cpuMicrosPerTask: number }> {
  const queue = `bench-telemetry-${randomUUID().slice(0, 8)}`;
  const workerTransport = open();
  const clientTransport = workerTransport.name === 'memory' ? workerTransport : open();
  const worker = new Worker({
    transport: workerTransport,
    tasks: [noop],
    queues: [queue],
    concurrency: CONCURRENCY,
    tracing,
  });
  const client = new Client({ transport: clientTransport, tracing });
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
  try {
    await worker.start();
    const batch: [number][] = Array.from({ length: BATCH }, (_, i) => [i]);
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    for (let sent = 0; sent < tasks; sent += BATCH) {
      // One send span per task, as an application sending tasks one by one would make.
      const slice = sent + BATCH <= tasks ? batch : batch.slice(0, tasks - sent);
      await Promise.all(slice.map((args) => client.send(noop, args, { queue })));
    }
    await finished;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    return { tasksPerSecond: tasks / seconds, cpuMicrosPerTask: (cpu.user + cpu.system) / tasks };
  } finally {
    await worker.stop();
    await workerTransport.close();
    if (clientTransport !== workerTransport) await clientTransport.close();
    if (workerTransport.name === 'redis') await deleteQueue(queue, redis);
  }
}

async function deleteQueue(queue: string, redis: { host: string; port: number; db: number }): Promise<void> {
  const client = new Redis({ ...redis });
  const keys = queueKeys(queue, '', false);
  await client.del(
    ...keys.ready,
    keys.inflight,
    keys.payload,
    keys.delayed,
    keys.counts,
    keys.countsAge,
    keys.sequence,
  );
  client.disconnect();
}

/** The Markdown section for docs/benchmarks.md. */
export function telemetrySuiteMarkdown(
  result: TelemetrySuiteResult,
  options: TelemetrySuiteOptions,
  command: string,
): string {
  const lines = suiteHeading(command, options.tasks, options.runs);
  lines.push(
    'OpenTelemetry tracing (docs/observability.md): the same no-op task end to end (one process, Client and',
    `Worker, concurrency ${CONCURRENCY}, each task sent by its own \`send\`, 500 in flight, no result stored) with`,
    'tracing off, on with `@opentelemetry/api` and no SDK registered (the no-op tracer: what tracing costs where',
    'nothing collects it), and on with a real SDK (async-hooks context manager, W3C propagator, a simple span',
    'processor into an in-memory exporter: two spans per task). On Redis the Client and the Worker have their own',
    `connections (N = ${formatCount(options.redisTasks)} tasks per run). CPU µs/task is the process CPU time per task`,
    '(user + system), which other jobs barely move, unlike the rate; the overhead is its difference from off.',
    'The three modes take turns in every round (a warm-up round first), so load from other jobs falls on all alike.',
    '',
  );
  const baseline = (row: TelemetryRow): TelemetryRow | undefined =>
    result.rows.find((r) => r.transport === row.transport && r.mode === 'off');
  lines.push(
    ...markdownTable(result.rows, [
      { header: 'transport', align: 'left', cell: (r) => r.transport },
      { header: 'tracing', align: 'left', cell: (r) => r.mode },
      { header: 'tasks/s (median)', align: 'right', cell: (r) => formatCount(r.tasksPerSecond) },
      { header: 'µs/task', align: 'right', cell: (r) => (1e6 / r.tasksPerSecond).toFixed(1) },
      { header: 'CPU µs/task', align: 'right', cell: (r) => r.cpuMicrosPerTask.toFixed(1) },
      {
        header: 'CPU overhead µs/task',
        align: 'right',
        cell: (r) => {
          const off = baseline(r);
          return r.mode === 'off' || off === undefined
            ? ''
            : (r.cpuMicrosPerTask - off.cpuMicrosPerTask).toFixed(1);
        },
      },
      { header: 'spans/task', align: 'right', cell: (r) => r.spansPerTask.toFixed(0) },
      { header: 'runs (tasks/s)', align: 'left', cell: (r) => r.runs.map(formatCount).join(', ') },
    ]),
  );
  return lines.join('\n');
}
