import { randomUUID } from 'node:crypto';
import { Client, defineTask, Worker } from '@conveyor/core';
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
import { deleteQueues, fastTransport } from './sqs-harness.js';

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
  await deleteQueues(queues);
});

function named(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

describe('tracing across SQS (ElasticMQ)', () => {
  it('the worker continues the sender’s trace from the message headers, retries included', async () => {
    const queue = `traced-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    // Separate clients for sender and worker: the context crosses SQS in the message body's headers.
    const sending = fastTransport();
    const working = fastTransport();
    let attempts = 0;
    const task = defineTask({
      name: 'traced.sqs',
      queue,
      retry: { maxRetries: 1, initialDelayMs: 1, jitter: 'none' },
      handler: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('once');
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
      await vi.waitFor(() => expect(named(`process ${queue}`)).toHaveLength(2), { timeout: 30_000 });

      const [root] = named('request');
      const [send] = named(`send ${queue}`);
      expect(send!.parentSpanContext?.spanId).toBe(root!.spanContext().spanId);
      expect(send!.attributes).toMatchObject({
        'messaging.system': 'aws_sqs',
        'messaging.destination.name': queue,
        'messaging.message.id': handle.id,
      });
      const attemptSpans = named(`process ${queue}`).sort(
        (a, b) => Number(a.attributes['celery.retries']) - Number(b.attributes['celery.retries']),
      );
      for (const span of attemptSpans) {
        expect(span.spanContext().traceId).toBe(root!.spanContext().traceId);
        expect(span.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
        expect(span.attributes).toMatchObject({
          'messaging.system': 'aws_sqs',
          'messaging.destination.name': queue,
          'messaging.operation.type': 'process',
          'messaging.message.id': handle.id,
        });
      }
      expect(attemptSpans[0]!.status.code).toBe(otel.SpanStatusCode.ERROR);
      expect(attemptSpans[1]!.status.code).toBe(otel.SpanStatusCode.UNSET);
    } finally {
      await worker.stop();
      await working.close();
      await sending.close();
    }
  }, 60_000);
});
