import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as otel from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  defineTask,
  InvalidOptionError,
  MemoryTransport,
  type OtelApi,
  TRACER_NAME,
  Worker,
} from '../src/index.js';
import { eventually, uniqueBroker } from './helpers.js';
import { installTracing, parentSpanId, spansNamed } from './tracing-setup.js';

// The real module fits the structural type core declares (a compile-time check).
const api: OtelApi = otel;

let exporter: ReturnType<typeof installTracing>;
beforeAll(() => {
  exporter = installTracing();
});

const open: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.stop();
  exporter.reset();
});

function queueName(): string {
  return `traced-${randomUUID().slice(0, 8)}`;
}

describe('tracing', () => {
  it('one trace from the sender through the broker to the handler, with the messaging attributes', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const queue = queueName();
    let seenHeaders: unknown;
    const tracer = otel.trace.getTracer('test');
    const task = defineTask({
      name: 'traced.add',
      queue,
      handler: ([a, b]: [number, number], context) => {
        seenHeaders = context.headers;
        // A span the handler makes is a child of the process span.
        tracer.startActiveSpan('inside the handler', (span) => span.end());
        return a + b;
      },
    });
    const worker = new Worker({ transport, tasks: [task], tracing: true });
    open.push(worker);
    await worker.start();
    const client = new Client({ transport, tracing: true });
    const handle = await tracer.startActiveSpan('request', async (root) => {
      try {
        return await client.send(task, [2, 3]);
      } finally {
        root.end();
      }
    });
    await eventually(() => expect(spansNamed(exporter, 'inside the handler')).toHaveLength(1));
    await eventually(() => expect(spansNamed(exporter, `process ${queue}`)).toHaveLength(1));

    const [root] = spansNamed(exporter, 'request');
    const [send] = spansNamed(exporter, `send ${queue}`);
    const [processing] = spansNamed(exporter, `process ${queue}`);
    const [inner] = spansNamed(exporter, 'inside the handler');
    const traceId = root!.spanContext().traceId;
    for (const span of [send, processing, inner]) expect(span!.spanContext().traceId).toBe(traceId);
    expect(parentSpanId(send!)).toBe(root!.spanContext().spanId);
    expect(parentSpanId(processing!)).toBe(send!.spanContext().spanId);
    expect(processing!.links.map((l) => l.context.spanId)).toEqual([send!.spanContext().spanId]);
    expect(parentSpanId(inner!)).toBe(processing!.spanContext().spanId);
    expect(send!.kind).toBe(otel.SpanKind.PRODUCER);
    expect(processing!.kind).toBe(otel.SpanKind.CONSUMER);
    expect(send!.instrumentationScope.name).toBe(TRACER_NAME);
    expect(send!.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.destination.name': queue,
      'messaging.operation.type': 'send',
      'messaging.message.id': handle.id,
      'celery.task_name': 'traced.add',
    });
    expect(processing!.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.destination.name': queue,
      'messaging.operation.type': 'process',
      'messaging.message.id': handle.id,
      'celery.task_name': 'traced.add',
      'celery.retries': 0,
      'conveyor.delivery_count': 1,
    });
    expect(processing!.status.code).toBe(otel.SpanStatusCode.UNSET);
    // The context travels as an ordinary header, where Celery's instrumentation puts it.
    expect(seenHeaders).toMatchObject({
      traceparent: `00-${traceId}-${send!.spanContext().spanId}-01`,
    });
  });

  it('a retried task keeps its trace: each attempt is a process span under the send, the failed one in error', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const queue = queueName();
    let attempts = 0;
    const task = defineTask({
      name: 'traced.flaky',
      queue,
      retry: { maxRetries: 2, initialDelayMs: 1, jitter: 'none' },
      handler: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    const worker = new Worker({ transport, tasks: [task], tracing: { api } });
    open.push(worker);
    await worker.start();
    await new Client({ transport, tracing: { api } }).send(task, []);
    await eventually(() => expect(spansNamed(exporter, `process ${queue}`)).toHaveLength(2));
    const [send] = spansNamed(exporter, `send ${queue}`);
    const attemptsSpans = spansNamed(exporter, `process ${queue}`).sort(
      (a, b) => Number(a.attributes['celery.retries']) - Number(b.attributes['celery.retries']),
    );
    for (const span of attemptsSpans) {
      expect(span.spanContext().traceId).toBe(send!.spanContext().traceId);
      expect(parentSpanId(span)).toBe(send!.spanContext().spanId);
    }
    expect(attemptsSpans[0]!.status).toMatchObject({ code: otel.SpanStatusCode.ERROR });
    expect(attemptsSpans[0]!.status.message).toContain('first attempt fails');
    expect(attemptsSpans[0]!.events.map((e) => e.name)).toContain('exception');
    expect(attemptsSpans[1]!.status.code).toBe(otel.SpanStatusCode.UNSET);
  });

  it('continues the trace of a producer that wrote traceparent as Celery’s instrumentation does', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const queue = queueName();
    const task = defineTask({ name: 'traced.python', queue, handler: () => null });
    const worker = new Worker({ transport, tasks: [task], tracing: true });
    open.push(worker);
    await worker.start();
    // opentelemetry-instrumentation-celery injects into the protocol v2 message headers.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    await new Client({ transport }).send(task, [], {
      headers: { traceparent: `00-${traceId}-${spanId}-01` },
    });
    await eventually(() => expect(spansNamed(exporter, `process ${queue}`)).toHaveLength(1));
    const [processing] = spansNamed(exporter, `process ${queue}`);
    expect(processing!.spanContext().traceId).toBe(traceId);
    expect(parentSpanId(processing!)).toBe(spanId);
  });

  it('a failed publish ends the send span in error; a batch is one span with its message count', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const queue = queueName();
    const client = new Client({ transport, tracing: true });
    await client.sendMany('traced.batch', [[1], [2], [3]], { queue });
    const [batch] = spansNamed(exporter, `send ${queue}`);
    expect(batch!.attributes['messaging.batch.message_count']).toBe(3);
    expect(batch!.attributes['messaging.message.id']).toBeUndefined();
    await transport.close();
    await expect(client.send('traced.batch', [4], { queue })).rejects.toThrow();
    const spans = spansNamed(exporter, `send ${queue}`);
    expect(spans).toHaveLength(2);
    expect(spans[1]!.status.code).toBe(otel.SpanStatusCode.ERROR);
  });

  it('without the option nothing is traced and no header is added', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const queue = queueName();
    let seenHeaders: unknown;
    const task = defineTask({
      name: 'traced.off',
      queue,
      handler: (_args: [], context) => {
        seenHeaders = context.headers;
      },
    });
    const worker = new Worker({ transport, tasks: [task] });
    open.push(worker);
    const succeeded = new Promise((resolve) => worker.on('succeeded', resolve));
    await worker.start();
    await new Client({ transport }).send(task, []);
    await succeeded;
    expect(seenHeaders).toEqual({});
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('bad tracing options are typed errors naming the option', () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const task = defineTask({ name: 'traced.bad', handler: () => null });
    const attempts: [string, () => unknown][] = [
      ['tracing', () => new Client({ transport, tracing: 'yes' as never })],
      ['tracing.api', () => new Client({ transport, tracing: { api: {} as never } })],
      ['tracing.tracer', () => new Worker({ transport, tasks: [task], tracing: { tracer: {} as never } })],
      ['tracing.sampler', () => new Worker({ transport, tasks: [task], tracing: { sampler: 1 } as never })],
    ];
    for (const [option, attempt] of attempts) {
      expect(attempt, option).toThrow(InvalidOptionError);
      try {
        attempt();
      } catch (error) {
        expect((error as InvalidOptionError).option).toBe(option);
      }
    }
  });

  it('core never imports @opentelemetry/api unless tracing is on (run with the package unresolvable)', () => {
    const script = fileURLToPath(new URL('./fixtures/tracing/without-opentelemetry.mjs', import.meta.url));
    const output = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
    const { result, tracedError } = JSON.parse(output) as {
      result: number;
      tracedError: { name: string; option: string; message: string } | undefined;
    };
    expect(result).toBe(5);
    expect(tracedError).toMatchObject({ name: 'InvalidOptionError', option: 'tracing' });
    expect(tracedError!.message).toContain('blocked by the test');
  });
});
