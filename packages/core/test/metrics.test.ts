import { afterEach, describe, expect, it } from 'vitest';
import {
  attachClientMetrics,
  attachWorkerMetrics,
  Client,
  defineTask,
  InvalidOptionError,
  MemoryTransport,
  MetricRegistry,
  PermanentTaskError,
  SENT_AT_HEADER,
  type TaskContext,
  Worker,
  type WorkerEvents,
} from '../src/index.js';
import { deferred, eventually, uniqueBroker } from './helpers.js';

/** One sample of a scrape, its labels unescaped. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its HELP, TYPE and samples, in the order they came. */
interface Family {
  help: string;
  type: string;
  samples: Sample[];
}

/**
 * Parses Prometheus' text exposition format 0.0.4 strictly, throwing at the first line that breaks
 * it: HELP then TYPE before a family's samples, families contiguous, only `\\`, `\"` and `\n`
 * escapes in label values, valid names and values, histograms with cumulative buckets ending in
 * `le="+Inf"` equal to `_count`.
 */
function parseExposition(text: string): Map<string, Family> {
  expect(text.endsWith('\n')).toBe(true);
  const families = new Map<string, Family>();
  let current: { name: string; family: Family } | undefined;
  const lines = text.slice(0, -1).split('\n');
  for (const [index, line] of lines.entries()) {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1} (${JSON.stringify(line)}): ${why}`);
    };
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (help) {
      const [, name, text] = help as unknown as [string, string, string];
      if (families.has(name)) fail('family declared twice');
      if (/\\[^\\n]/.test(text.replace(/\\\\/g, ''))) fail('bad escape in HELP');
      current = { name, family: { help: text, type: '', samples: [] } };
      families.set(name, current.family);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      const declared = current !== undefined && current.name === type[1] ? current.family : undefined;
      if (declared === undefined || declared.type !== '' || declared.samples.length > 0) {
        return fail('TYPE must follow its HELP, once, before the samples');
      }
      declared.type = type[2]!;
      continue;
    }
    if (line.startsWith('#') || line === '') fail('unexpected comment or blank line');
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line) ?? fail('not a sample');
    const [, name, rawLabels, rawValue] = sample as unknown as [string, string, string | undefined, string];
    if (current === undefined || current.family.type === '') fail('sample before HELP and TYPE');
    const family = current!.family;
    const suffixes = family.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    if (!suffixes.some((suffix) => name === `${current!.name}${suffix}`)) fail('sample of another family');
    if (!/^([+-]Inf|NaN|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/.test(rawValue)) fail('bad value');
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
    const labels: Record<string, string> = {};
    if (rawLabels !== undefined) {
      const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|\})/y;
      pair.lastIndex = 1;
      while (pair.lastIndex < rawLabels.length) {
        const match = pair.exec(rawLabels) ?? fail('bad label pair');
        const [, label, escaped, end] = match as unknown as [string, string, string, string];
        if (label in labels) fail(`label ${label} twice`);
        labels[label] = escaped.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        if (end === '}' && pair.lastIndex !== rawLabels.length) fail('text after the labels');
      }
    }
    family.samples.push({ name, labels, value });
  }
  for (const [name, family] of families) if (family.type === 'histogram') checkHistogram(name, family);
  return families;
}

function checkHistogram(name: string, family: Family): void {
  const seriesKey = (labels: Record<string, string>): string =>
    JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le'));
  const series = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const key = seriesKey(sample.labels);
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const samples of series.values()) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`);
    expect(samples.find((s) => s.name === `${name}_sum`)).toBeDefined();
    expect(buckets.length).toBeGreaterThan(1);
    const bounds = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    expect(bounds.at(-1)).toBe(Infinity);
    for (let i = 1; i < buckets.length; i++) {
      expect(bounds[i]!).toBeGreaterThan(bounds[i - 1]!);
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    }
    expect(buckets.at(-1)!.value).toBe(count?.value);
  }
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? families.get(name);
  const matches = (family?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(matches.length).toBeLessThanOrEqual(1);
  return matches[0]?.value ?? 0;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('MetricRegistry: the text exposition format', () => {
  it('writes HELP, TYPE, escaped labels and cumulative histogram buckets that parse back strictly', async () => {
    const registry = new MetricRegistry();
    const counter = registry.counter({
      name: 'demo_total',
      help: 'a "quoted" help\nwith a line feed and a \\ backslash',
      labelNames: ['queue', 'task'],
    });
    const gauge = registry.gauge({ name: 'demo_gauge', help: 'a gauge' });
    const histogram = registry.histogram({
      name: 'demo_seconds',
      help: 'a histogram',
      labelNames: ['task'],
      buckets: [0.1, 1, 10],
    });
    const nasty = 'a"b\\c\nd}e,f=g';
    counter.inc({ queue: nasty, task: 't' });
    counter.inc({ queue: nasty, task: 't' }, 2);
    counter.inc({ queue: 'plain', task: 't' });
    gauge.set(undefined, Number.POSITIVE_INFINITY);
    for (const value of [0.05, 0.1, 0.5, 5, 50, 50]) histogram.observe({ task: 'x' }, value);

    const text = await registry.render();
    const families = parseExposition(text);
    expect(families.get('demo_total')).toMatchObject({
      type: 'counter',
      help: 'a "quoted" help\\nwith a line feed and a \\\\ backslash',
    });
    expect(sampleValue(families, 'demo_total', { queue: nasty })).toBe(3);
    expect(sampleValue(families, 'demo_total', { queue: 'plain' })).toBe(1);
    expect(text).toContain('demo_gauge +Inf\n');
    // 0.1 falls in le="0.1": bounds are inclusive.
    const buckets = families.get('demo_seconds')!.samples.filter((s) => s.name === 'demo_seconds_bucket');
    expect(buckets.map((b) => [b.labels.le, b.value])).toEqual([
      ['0.1', 2],
      ['1', 3],
      ['10', 4],
      ['+Inf', 6],
    ]);
    expect(sampleValue(families, 'demo_seconds_sum', { task: 'x' })).toBeCloseTo(105.65);
    expect(sampleValue(families, 'demo_seconds_count', { task: 'x' })).toBe(6);
  });

  it('refuses bad names, bad labels, clashing families, decreasing buckets and counters going down', () => {
    const registry = new MetricRegistry();
    expect(() => registry.counter({ name: '1bad', help: '' })).toThrow(InvalidOptionError);
    expect(() => registry.counter({ name: 'ok_total', help: '', labelNames: ['__x'] })).toThrow(/label name/);
    expect(() => registry.histogram({ name: 'h', help: '', labelNames: ['le'] })).toThrow(/"le"/);
    expect(() => registry.histogram({ name: 'h', help: '', buckets: [1, 1] })).toThrow(/buckets/);
    registry.histogram({ name: 'lat', help: '' });
    expect(() => registry.counter({ name: 'lat_count', help: '' })).toThrow(/clashes/);
    const counter = registry.counter({ name: 'c_total', help: '', labelNames: ['q'] });
    expect(() => counter.inc({ q: 'a' }, -1)).toThrow(/only goes up/);
    expect(() => counter.inc({} as { q: string })).toThrow(/label "q"/);
  });
});

describe('attachWorkerMetrics', () => {
  it('counts what happened on a worker and measures duration, latency, in-flight and queue depth', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('metrics') });
    const gate = deferred<void>();
    const ok = defineTask({ name: 'metrics.ok', queue: 'q-metrics', handler: ([n]: [number]) => n * 2 });
    const flaky = defineTask({
      name: 'metrics.flaky',
      queue: 'q-metrics',
      retry: { maxRetries: 1, initialDelayMs: 10, factor: 1, maxDelayMs: 10, jitter: 'none' },
      handler: (_args: [], context: TaskContext) => {
        throw new Error(`attempt ${context.retries}`);
      },
    });
    const permanent = defineTask({
      name: 'metrics.permanent',
      queue: 'q-metrics',
      handler: () => {
        throw new PermanentTaskError('no');
      },
    });
    const blocked = defineTask({ name: 'metrics.blocked', queue: 'q-metrics', handler: () => gate.promise });
    const worker = new Worker({ transport, tasks: [ok, flaky, permanent, blocked], concurrency: 4 });
    const metrics = attachWorkerMetrics(worker, { queueDepthCacheMs: 0 });
    const client = new Client({ transport, sentTimestamp: true });
    attachClientMetrics(client, metrics.registry);
    cleanups.push(async () => {
      gate.resolve();
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
    });

    // Queued before the worker starts: the depth is the broker's, read at scrape time.
    await client.sendMany(ok, [[1], [2], [3]]);
    let scrape = parseExposition(await metrics.registry.render());
    expect(sampleValue(scrape, 'conveyor_queue_depth', { queue: 'q-metrics', state: 'ready' })).toBe(3);
    expect(sampleValue(scrape, 'conveyor_tasks_sent_total', { queue: 'q-metrics', task: 'metrics.ok' })).toBe(
      3,
    );

    await worker.start();
    await client.send(flaky, []);
    await client.send(permanent, []);
    await client.send(blocked, []);
    const labels = (task: string) => ({ queue: 'q-metrics', task });
    await eventually(async () => {
      scrape = parseExposition(await metrics.registry.render());
      expect(sampleValue(scrape, 'conveyor_tasks_succeeded_total', labels('metrics.ok'))).toBe(3);
      expect(sampleValue(scrape, 'conveyor_tasks_failed_total', labels('metrics.flaky'))).toBe(1);
      expect(sampleValue(scrape, 'conveyor_tasks_failed_total', labels('metrics.permanent'))).toBe(1);
      expect(sampleValue(scrape, 'conveyor_tasks_in_flight')).toBe(1);
      // A failure is counted before its message is dead-lettered.
      expect(sampleValue(scrape, 'conveyor_tasks_dead_lettered_total', labels('metrics.flaky'))).toBe(1);
      expect(sampleValue(scrape, 'conveyor_tasks_dead_lettered_total', labels('metrics.permanent'))).toBe(1);
    });
    // The retry is a second delivery of flaky: received twice, retried once, failed once.
    expect(sampleValue(scrape, 'conveyor_tasks_received_total', labels('metrics.flaky'))).toBe(2);
    expect(sampleValue(scrape, 'conveyor_tasks_retried_total', labels('metrics.flaky'))).toBe(1);
    expect(sampleValue(scrape, 'conveyor_tasks_succeeded_total', labels('metrics.flaky'))).toBe(0);
    expect(sampleValue(scrape, 'conveyor_tasks_sent_total', labels('metrics.flaky'))).toBe(1);
    const duration = (task: string, outcome: string) =>
      sampleValue(scrape, 'conveyor_task_duration_seconds_count', { ...labels(task), outcome });
    expect(duration('metrics.ok', 'succeeded')).toBe(3);
    expect(duration('metrics.flaky', 'retried')).toBe(1);
    expect(duration('metrics.flaky', 'failed')).toBe(1);
    // Every outcome of a message sent with a timestamp has a latency; the blocked task has none yet.
    expect(sampleValue(scrape, 'conveyor_task_latency_seconds_count', labels('metrics.ok'))).toBe(3);
    expect(sampleValue(scrape, 'conveyor_task_latency_seconds_count', labels('metrics.flaky'))).toBe(2);
    expect(sampleValue(scrape, 'conveyor_task_latency_seconds_count', labels('metrics.blocked'))).toBe(0);
    const latencySum = sampleValue(scrape, 'conveyor_task_latency_seconds_sum', labels('metrics.ok'));
    expect(latencySum).toBeGreaterThan(0);
    expect(latencySum).toBeLessThan(600); // seconds, not milliseconds

    gate.resolve();
    await eventually(async () => {
      scrape = parseExposition(await metrics.registry.render());
      expect(sampleValue(scrape, 'conveyor_tasks_succeeded_total', labels('metrics.blocked'))).toBe(1);
      expect(sampleValue(scrape, 'conveyor_tasks_in_flight')).toBe(0);
    });
    expect(sampleValue(scrape, 'conveyor_queue_depth', { queue: 'q-metrics', state: 'ready' })).toBe(0);

    // Detached: nothing more is counted.
    metrics.detach();
    await client.send(ok, [4]);
    await eventually(async () => expect((await transport.queueDepth('q-metrics')).ready).toBe(0));
    scrape = parseExposition(await metrics.registry.render());
    expect(sampleValue(scrape, 'conveyor_tasks_succeeded_total', labels('metrics.ok'))).toBe(3);
  });

  it('measures latency only for messages that carry the sent time, from their eta when later', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('metrics-latency') });
    const task = defineTask({ name: 'metrics.latency', queue: 'q-latency', handler: () => 1 });
    const worker = new Worker({ transport, tasks: [task] });
    const metrics = attachWorkerMetrics(worker, { buckets: [1, 3600] });
    const received: Record<string, unknown>[] = [];
    worker.on('received', (e) => received.push({ sentAt: e.sentAt, eta: e.eta }));
    cleanups.push(async () => {
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
    });
    await worker.start();
    await new Client({ transport }).send(task, []);
    // Sent "two hours ago" but due only now: the latency counts from the eta, not the send.
    const hoursAgo = Date.now() / 1000 - 7200;
    await new Client({ transport }).send(task, [], {
      headers: { [SENT_AT_HEADER]: hoursAgo },
      eta: new Date(Date.now() - 10),
    });
    await eventually(async () => {
      const scrape = parseExposition(await metrics.registry.render());
      expect(sampleValue(scrape, 'conveyor_tasks_succeeded_total', { task: 'metrics.latency' })).toBe(2);
      expect(sampleValue(scrape, 'conveyor_task_latency_seconds_count', { task: 'metrics.latency' })).toBe(1);
      expect(sampleValue(scrape, 'conveyor_task_latency_seconds_bucket', { le: '1' })).toBe(1);
    });
    expect(received[0]).toEqual({ sentAt: undefined, eta: null });
    expect(received[1]!.sentAt).toBe(hoursAgo * 1000);
  });

  it('serves the last queue depth when the broker is slow, and none when it cannot tell', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('metrics-slow') });
    const task = defineTask({ name: 'metrics.slow', queue: 'q-slow', handler: () => 1 });
    const worker = new Worker({ transport, tasks: [task] });
    const metrics = attachWorkerMetrics(worker, { queueDepthCacheMs: 0, queueDepthTimeoutMs: 50 });
    await transport.connect();
    await transport.declareQueue({ name: 'q-slow' });
    const depthOf = async () =>
      sampleValue(parseExposition(await metrics.registry.render()), 'conveyor_queue_depth', {
        queue: 'q-slow',
        state: 'ready',
      });
    await new Client({ transport }).sendMany(task, [[], []]);
    expect(await depthOf()).toBe(2);

    let giveUp: (error: Error) => void = () => {};
    const hanging = new Promise<never>((_, reject) => {
      giveUp = reject;
    });
    const realDepth = transport.queueDepth.bind(transport);
    transport.queueDepth = () => hanging;
    await new Client({ transport }).send(task, []);
    // The read hangs: the scrape still answers, with the value read before.
    expect(await depthOf()).toBe(2);
    transport.queueDepth = realDepth;
    giveUp(new Error('gave up'));
    await eventually(async () => expect(await depthOf()).toBe(3));

    await transport.close();
    const text = await metrics.registry.render();
    parseExposition(text);
    expect(text).not.toContain('conveyor_queue_depth{');
  });

  it('keeps attempts apart when a retry is received before the attempt it replaces reports', async () => {
    // The order a busy worker produced on Redis: the retry's message arrived (and even started)
    // before the first attempt's ack completed and it emitted 'retried'.
    const transport = new MemoryTransport({ broker: uniqueBroker('metrics-order') });
    const worker = new Worker({ transport, tasks: [defineTask({ name: 't', handler: () => 1 })] });
    const metrics = attachWorkerMetrics(worker);
    const base = { taskId: 'id-1', name: 't', deliveryCount: 1, queue: 'q', sentAt: undefined, eta: null };
    const received = (retries: number) => ({ ...base, retries }) as WorkerEvents['received'];
    worker.emit('received', received(0));
    worker.emit('started', { taskId: 'id-1', name: 't' });
    worker.emit('received', received(1));
    worker.emit('started', { taskId: 'id-1', name: 't' });
    worker.emit('retried', { taskId: 'id-1', name: 't', error: new Error('x'), retries: 1, delayMs: 10 });
    worker.emit('failed', { taskId: 'id-1', name: 't', error: new Error('x'), retries: 1 });
    const scrape = parseExposition(await metrics.registry.render());
    expect(sampleValue(scrape, 'conveyor_tasks_retried_total', { queue: 'q', task: 't' })).toBe(1);
    expect(sampleValue(scrape, 'conveyor_tasks_failed_total', { queue: 'q', task: 't' })).toBe(1);
    for (const outcome of ['retried', 'failed']) {
      expect(sampleValue(scrape, 'conveyor_task_duration_seconds_count', { queue: 'q', outcome })).toBe(1);
    }
    expect(scrape.get('conveyor_tasks_failed_total')!.samples).toHaveLength(1);
  });

  it('refuses bad options by name', () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('metrics-options') });
    const worker = new Worker({ transport, tasks: [defineTask({ name: 'x', handler: () => 1 })] });
    expect(() => attachWorkerMetrics(worker, { queueDepthTimeoutMs: -1 })).toThrow(/queueDepthTimeoutMs/);
    const registry = new MetricRegistry();
    attachWorkerMetrics(worker, { registry });
    // One worker's metrics per registry: a second set would count everything twice.
    expect(() => attachWorkerMetrics(worker, { registry })).toThrow(/clashes/);
  });
});
