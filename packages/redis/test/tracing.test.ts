import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, defineTask, Worker } from '@conveyor/core';
import { ensurePythonCelery, INTEROP_DIR, skipOrFailInCi } from '@conveyor/python-interop';
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisTransport } from '../src/index.js';
import { REDIS, rawClient, singleNodeHarness } from './redis-harness.js';

// Shares db 4 with nack-order and binary-dead-letter; this file uses and deletes its own queues.
const DB = 4;
const queues: string[] = [];

let exporter: InMemorySpanExporter;
beforeAll(() => {
  // A real SDK registered globally, as an application does: spans land in memory for the test.
  exporter = new InMemorySpanExporter();
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  otel.trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
});

afterAll(async () => {
  await singleNodeHarness('tracing', DB).cleanup?.(queues);
  // kombu's routing table: the Celery worker registers its queue under these keys.
  const client = rawClient(DB);
  await client.del(...queues.flatMap((q) => [`_kombu.binding.${q}`, `_kombu.binding_permanent.${q}`]));
  client.disconnect();
});

function named(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

describe('tracing across Redis', () => {
  it('the worker continues the sender’s trace from the message headers, retries included', async () => {
    const queue = `traced-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    // Separate connections for sender and worker: the context crosses Redis in the stored message.
    const sending = new RedisTransport({ ...REDIS, db: DB });
    const working = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
    let attempts = 0;
    const task = defineTask({
      name: 'traced.redis',
      queue,
      retry: { maxRetries: 1, initialDelayMs: 1, jitter: 'none' },
      handler: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('once');
        otel.trace.getTracer('test').startActiveSpan('handler work', (span) => span.end());
        return 'done';
      },
    });
    const worker = new Worker({ transport: working, tasks: [task], tracing: true });
    const client = new Client({ transport: sending, tracing: true });
    try {
      await worker.start();
      const handle = await otel.trace.getTracer('test').startActiveSpan('request', async (root) => {
        try {
          return await client.send(task, []);
        } finally {
          root.end();
        }
      });
      await vi.waitFor(() => expect(named(`process ${queue}`)).toHaveLength(2), { timeout: 15_000 });
      await vi.waitFor(() => expect(named('handler work')).toHaveLength(1));

      const [root] = named('request');
      const [send] = named(`send ${queue}`);
      const traceId = root!.spanContext().traceId;
      expect(send!.attributes).toMatchObject({
        'messaging.system': 'redis',
        'messaging.destination.name': queue,
        'messaging.message.id': handle.id,
      });
      const attemptSpans = named(`process ${queue}`).sort(
        (a, b) => Number(a.attributes['celery.retries']) - Number(b.attributes['celery.retries']),
      );
      for (const span of attemptSpans) {
        expect(span.spanContext().traceId).toBe(traceId);
        expect(span.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
        expect(span.attributes).toMatchObject({
          'messaging.system': 'redis',
          'messaging.operation.type': 'process',
          'messaging.message.id': handle.id,
        });
      }
      expect(attemptSpans[0]!.status.code).toBe(otel.SpanStatusCode.ERROR);
      expect(attemptSpans[1]!.status.code).toBe(otel.SpanStatusCode.UNSET);
      const [work] = named('handler work');
      expect(work!.parentSpanContext?.spanId).toBe(attemptSpans[1]!.spanContext().spanId);
    } finally {
      await worker.stop();
      await working.close();
      await sending.close();
    }
  });

  it('a Python producer instrumented by opentelemetry-instrumentation-celery: the Conveyor worker continues its trace', async (context) => {
    let python: string;
    try {
      python = await ensurePythonCelery();
    } catch (error) {
      skipOrFailInCi('the Python tracing interop case', String(error), context.skip);
      return;
    }
    const queue = `traced-py-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const script = fileURLToPath(new URL('./fixtures/send_traced.py', import.meta.url));
    // Celery's instrumentation writes traceparent into the message headers (before_task_publish).
    const { stdout } = await promisify(execFile)(python, [script, 'traced.from_python'], {
      cwd: INTEROP_DIR,
      env: {
        ...process.env,
        CELERY_BROKER_URL: `redis://${REDIS.host}:${REDIS.port}/${DB}`,
        CELERY_QUEUE: queue,
      },
      timeout: 60_000,
    });
    const sent = JSON.parse(stdout) as {
      id: string;
      traceId: string;
      spans: { name: string; spanId: string; kind: string }[];
    };
    const producer = sent.spans.find((span) => span.kind === 'PRODUCER');
    expect(producer?.name).toBe('apply_async/traced.from_python');

    const transport = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
    const task = defineTask({ name: 'traced.from_python', queue, handler: () => null });
    const worker = new Worker({ transport, tasks: [task], tracing: true });
    try {
      await worker.start();
      await vi.waitFor(() => expect(named(`process ${queue}`)).toHaveLength(1), { timeout: 15_000 });
    } finally {
      await worker.stop();
      await transport.close();
    }
    const [processing] = named(`process ${queue}`);
    expect(processing!.spanContext().traceId).toBe(sent.traceId);
    expect(processing!.parentSpanContext?.spanId).toBe(producer!.spanId);
    expect(processing!.attributes['messaging.message.id']).toBe(sent.id);
  }, 90_000);

  it('a Conveyor Client sends to a Celery worker instrumented by opentelemetry-instrumentation-celery: its run span continues the trace', async (context) => {
    let python: string;
    try {
      python = await ensurePythonCelery();
    } catch (error) {
      skipOrFailInCi('the Python tracing interop case', String(error), context.skip);
      return;
    }
    const queue = `traced-celery-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-traced-worker-'));
    const spansFile = join(dir, 'spans.jsonl');
    const script = fileURLToPath(new URL('./fixtures/traced_worker.py', import.meta.url));
    const celery = spawn(python, [script, 'traced.to_python'], {
      cwd: INTEROP_DIR,
      env: {
        ...process.env,
        CELERY_BROKER_URL: `redis://${REDIS.host}:${REDIS.port}/${DB}`,
        CELERY_QUEUE: queue,
        SPANS_FILE: spansFile,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    celery.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
    });
    const transport = new RedisTransport({ ...REDIS, db: DB });
    try {
      const client = new Client({ transport, tracing: true });
      await otel.trace.getTracer('test').startActiveSpan('node request', async (root) => {
        try {
          await client.send('traced.to_python', [], { queue });
        } finally {
          root.end();
        }
      });
      const [send] = named(`send ${queue}`);
      const run = await vi.waitFor(
        () => {
          let lines: string[] = [];
          try {
            lines = readFileSync(spansFile, 'utf8').trim().split('\n');
          } catch {}
          const spans = lines
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Record<string, string | null>);
          const found = spans.find((span) => span.name === 'run/traced.to_python');
          if (!found) throw new Error(`no run span yet; Celery log:\n${log.slice(-2000)}`);
          return found;
        },
        { timeout: 45_000, interval: 100 },
      );
      expect(run.kind).toBe('CONSUMER');
      expect(run.traceId).toBe(send!.spanContext().traceId);
      expect(run.parentSpanId).toBe(send!.spanContext().spanId);
    } finally {
      celery.kill('SIGKILL');
      await transport.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
