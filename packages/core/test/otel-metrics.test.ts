import * as otel from '@opentelemetry/api';
import {
  DataPointType,
  type Histogram as HistogramPoint,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachClientMetrics,
  attachWorkerMetrics,
  Client,
  defineTask,
  exportMetricsToOpenTelemetry,
  InvalidOptionError,
  MemoryTransport,
  MetricRegistry,
  PermanentTaskError,
  type TaskContext,
  Worker,
} from '../src/index.js';
import { deferred, eventually, uniqueBroker } from './helpers.js';

/** A reader the test pulls from, as a PeriodicExportingMetricReader would on its timer. */
class PullReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}

  /** The metrics of one collection, by instrument name. */
  async read(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).toEqual([]);
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    }
    return byName;
  }
}

/** The value of the data point of `name` whose attributes include `attributes` (0 when none). */
function pointValue(
  metrics: Map<string, MetricData>,
  name: string,
  attributes: Record<string, string> = {},
): unknown {
  const points = (metrics.get(name)?.dataPoints ?? []) as { attributes: otel.Attributes; value: unknown }[];
  const matches = points.filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  expect(matches.length).toBeLessThanOrEqual(1);
  return matches[0]?.value ?? 0;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function meterProvider(): { reader: PullReader; provider: MeterProvider } {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  cleanups.push(() => provider.shutdown());
  return { reader, provider };
}

describe('exportMetricsToOpenTelemetry', () => {
  it('reports a worker and client on memory:// through the real metrics SDK, matching the registry', async () => {
    const { reader, provider } = meterProvider();
    // As an application would: a global MeterProvider, the api imported by core on demand.
    otel.metrics.setGlobalMeterProvider(provider);
    cleanups.push(async () => otel.metrics.disable());

    const transport = new MemoryTransport({ broker: uniqueBroker('otel-metrics') });
    const queue = `q-otel-${Math.random().toString(36).slice(2, 8)}`;
    const gate = deferred<void>();
    const ok = defineTask({ name: 'otel.ok', queue, handler: ([n]: [number]) => n * 2 });
    const flaky = defineTask({
      name: 'otel.flaky',
      queue,
      retry: { maxRetries: 1, initialDelayMs: 10, factor: 1, maxDelayMs: 10, jitter: 'none' },
      handler: (_args: [], context: TaskContext) => {
        throw new Error(`attempt ${context.retries}`);
      },
    });
    const permanent = defineTask({
      name: 'otel.permanent',
      queue,
      handler: () => {
        throw new PermanentTaskError('no');
      },
    });
    const blocked = defineTask({ name: 'otel.blocked', queue, handler: () => gate.promise });
    const worker = new Worker({ transport, tasks: [ok, flaky, permanent, blocked], concurrency: 4 });
    const { registry } = attachWorkerMetrics(worker, { queueDepthCacheMs: 0 });
    const client = new Client({ transport, sentTimestamp: true });
    attachClientMetrics(client, registry);
    const bridge = await exportMetricsToOpenTelemetry(registry, {
      attributes: { 'messaging.system': 'memory' },
    });
    cleanups.push(async () => {
      bridge.stop();
      gate.resolve();
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
    });

    await client.sendMany(ok, [[1], [2], [3]]);
    let metrics = await reader.read();
    const at = (task?: string) => ({
      'messaging.destination.name': queue,
      ...(task !== undefined && { 'celery.task_name': task }),
    });
    expect(pointValue(metrics, 'conveyor.queue.depth', { ...at(), 'conveyor.queue.state': 'ready' })).toBe(3);
    expect(pointValue(metrics, 'messaging.client.sent.messages', at('otel.ok'))).toBe(3);
    expect(metrics.get('messaging.client.sent.messages')?.dataPoints[0]?.attributes).toEqual({
      'messaging.system': 'memory',
      'messaging.operation.name': 'send',
      'messaging.destination.name': queue,
      'celery.task_name': 'otel.ok',
    });

    await worker.start();
    await client.send(flaky, []);
    await client.send(permanent, []);
    await client.send(blocked, []);
    await eventually(async () => {
      metrics = await reader.read();
      expect(pointValue(metrics, 'conveyor.tasks.succeeded', at('otel.ok'))).toBe(3);
      expect(pointValue(metrics, 'conveyor.tasks.failed', at('otel.flaky'))).toBe(1);
      expect(pointValue(metrics, 'conveyor.tasks.failed', at('otel.permanent'))).toBe(1);
      expect(pointValue(metrics, 'conveyor.tasks.in_flight')).toBe(1);
      expect(pointValue(metrics, 'conveyor.tasks.dead_lettered', at('otel.flaky'))).toBe(1);
      expect(pointValue(metrics, 'conveyor.tasks.dead_lettered', at('otel.permanent'))).toBe(1);
    });
    expect(pointValue(metrics, 'messaging.client.consumed.messages', at('otel.flaky'))).toBe(2);
    expect(pointValue(metrics, 'conveyor.tasks.retried', at('otel.flaky'))).toBe(1);
    expect(pointValue(metrics, 'conveyor.tasks.succeeded', at('otel.flaky'))).toBe(0);
    expect(metrics.get('conveyor.tasks.succeeded')?.descriptor).toMatchObject({ unit: '{task}' });
    expect(metrics.get('conveyor.tasks.in_flight')?.dataPointType).toBe(DataPointType.GAUGE);
    expect(metrics.get('conveyor.tasks.succeeded')?.dataPointType).toBe(DataPointType.SUM);

    // Histograms: the same observations as the registry's, so the same counts and sums.
    const scrape = await registry.render();
    const prometheus = (line: string): number => {
      const match = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(scrape);
      return match ? Number(match[1]) : 0;
    };
    expect(metrics.get('messaging.process.duration')?.descriptor).toMatchObject({ unit: 's' });
    const duration = (task: string, outcome: string) =>
      pointValue(metrics, 'messaging.process.duration', {
        ...at(task),
        'conveyor.task.outcome': outcome,
        'messaging.operation.name': 'process',
      }) as HistogramPoint;
    const labels = (task: string, outcome?: string) =>
      `{queue="${queue}",task="${task}"${outcome ? `,outcome="${outcome}"` : ''}}`;
    for (const [task, outcome, count] of [
      ['otel.ok', 'succeeded', 3],
      ['otel.flaky', 'retried', 1],
      ['otel.flaky', 'failed', 1],
    ] as const) {
      expect(duration(task, outcome).count).toBe(count);
      expect(duration(task, outcome).sum).toBeCloseTo(
        prometheus(`conveyor_task_duration_seconds_sum${labels(task, outcome)}`),
        9,
      );
    }
    const latency = pointValue(metrics, 'conveyor.task.latency', at('otel.ok')) as HistogramPoint;
    expect(latency.count).toBe(3);
    expect(latency.sum).toBeGreaterThan(0);
    expect(latency.sum).toBeCloseTo(prometheus(`conveyor_task_latency_seconds_sum${labels('otel.ok')}`), 9);
    // The registry's buckets reach the SDK as advice.
    expect(latency.buckets.boundaries).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
    ]);
    console.info(
      `otel metrics: duration sum ${duration('otel.ok', 'succeeded').sum?.toFixed(6)} s for 3 tasks, latency sum ${latency.sum?.toFixed(6)} s`,
    );

    // After stop: nothing moves any more (the SDK keeps the last cumulative values it was given).
    bridge.stop();
    await client.send(ok, [4]);
    await eventually(async () =>
      expect(await registry.render()).toContain(`conveyor_tasks_succeeded_total${labels('otel.ok')} 4\n`),
    );
    metrics = await reader.read();
    expect(pointValue(metrics, 'messaging.client.sent.messages', at('otel.ok'))).toBe(3);
    expect(pointValue(metrics, 'conveyor.tasks.succeeded', at('otel.ok'))).toBe(3);
    expect(duration('otel.ok', 'succeeded').count).toBe(3);
  });

  it('records each observation with its value, into the registry buckets, from an explicit meter', async () => {
    const { reader, provider } = meterProvider();
    const registry = new MetricRegistry();
    const histogram = registry.histogram({
      name: 'job_wait_seconds',
      help: 'wait',
      labelNames: ['kind'],
      buckets: [1, 10],
    });
    const counter = registry.counter({ name: 'jobs_done_total', help: 'done', labelNames: ['kind'] });
    histogram.observe({ kind: 'a' }, 100); // before the bridge: not an event it saw
    counter.inc({ kind: 'a' }, 2); // a counter is a running total: reported whole
    await exportMetricsToOpenTelemetry(registry, { meter: provider.getMeter('test') });
    for (const value of [0.5, 1, 5, 50]) histogram.observe({ kind: 'a' }, value);
    counter.inc({ kind: 'a' });

    const metrics = await reader.read();
    expect(metrics.get('job_wait')?.descriptor).toMatchObject({ unit: 's', description: 'wait' });
    const point = pointValue(metrics, 'job_wait', { 'conveyor.kind': 'a' }) as HistogramPoint;
    expect(point).toMatchObject({ count: 4, sum: 56.5, min: 0.5, max: 50 });
    expect(point.buckets).toEqual({ boundaries: [1, 10], counts: [2, 1, 1] });
    expect(pointValue(metrics, 'jobs_done', { 'conveyor.kind': 'a' })).toBe(3);
  });

  it('refuses what is not a meter or the api, by option name', async () => {
    const registry = new MetricRegistry();
    await expect(exportMetricsToOpenTelemetry(registry, { meter: {} as never })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(exportMetricsToOpenTelemetry(registry, { api: {} as never })).rejects.toThrow(/api/);
  });
});
