import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, defineTask, Worker } from '@conveyor/core';
import { ensurePythonCelery, INTEROP_DIR, skipOrFailInCi } from '@conveyor/python-interop';
import { describeTracingAcrossBroker } from '@conveyor/test-support';
import * as otel from '@opentelemetry/api';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RedisTransport } from '../src/index.js';
import { REDIS, rawClient, singleNodeHarness } from './redis-harness.js';

// Shares db 4 with nack-order and binary-dead-letter; this file uses and deletes its own queues.
const DB = 4;
const queues: string[] = [];

afterAll(async () => {
  await singleNodeHarness('tracing', DB).cleanup?.(queues);
  // kombu's routing table: the Celery worker registers its queue under these keys.
  const client = rawClient(DB);
  await client.del(...queues.flatMap((q) => [`_kombu.binding.${q}`, `_kombu.binding_permanent.${q}`]));
  client.disconnect();
});

const { named } = describeTracingAcrossBroker({
  name: 'Redis',
  messagingSystem: 'redis',
  taskName: 'traced.redis',
  // Separate connections for sender and worker: the context crosses Redis in the stored message.
  createTransport: (role) =>
    new RedisTransport({ ...REDIS, db: DB, ...(role === 'worker' ? { pollIntervalMs: 50 } : {}) }),
  cleanup: (used) => singleNodeHarness('tracing', DB).cleanup?.(used) ?? Promise.resolve(),
});

describe('tracing across Redis and Python Celery (opentelemetry-instrumentation-celery)', () => {
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
