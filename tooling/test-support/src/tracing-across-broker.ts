// One OpenTelemetry trace followed from a Client, through a real broker, to a Worker: the same
// test for every transport that carries the trace context inside the message.
import { randomUUID } from 'node:crypto';
import { Client, defineTask, type Transport, Worker } from '@conveyor/core';
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

/** What differs per broker. The task, the spans asserted and the timeouts are the suite's. */
export interface TracingAcrossBrokerOptions {
  /** Broker name for the describe title (`tracing across <name>`), e.g. `RabbitMQ`. */
  name: string;
  /** The `messaging.system` attribute the transport sets on its spans: `rabbitmq`, `kafka`, `aws_sqs`. */
  messagingSystem: string;
  /** Name of the task the suite defines, e.g. `traced.amqp`. */
  taskName: string;
  /**
   * A new, unconnected transport to the broker under test. Called twice, once for the Client and
   * once for the Worker (`role` says which, e.g. to poll faster on the Worker's side); the suite
   * connects and closes both.
   */
  createTransport(role: 'client' | 'worker'): Transport;
  /** Deletes the queues the suite used, after its test. */
  cleanup?(queues: readonly string[]): Promise<void>;
}

/** The spans that the in-memory SDK registered by `describeTracingAcrossBroker` has recorded. */
export interface RecordedSpans {
  /** Every finished span of this name, in the order they ended. */
  named(spanName: string): ReadableSpan[];
}

/**
 * Registers `describe('tracing across <name>')` with one test: a Client sends, inside an active
 * root span, a task that fails once and then succeeds; the `send` span must be the root's child,
 * and both `process` spans of the Worker must continue that trace as children of `send`, with the
 * broker's `messaging.*` attributes; a span the handler starts is a child of its attempt's span.
 *
 * Registers a real OpenTelemetry SDK globally (beforeAll), as an application does, so call it at
 * most once per test file. The spans it records are returned, for a file's own further cases.
 */
export function describeTracingAcrossBroker(options: TracingAcrossBrokerOptions): RecordedSpans {
  const { name, messagingSystem, taskName, createTransport, cleanup } = options;
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
    await cleanup?.(queues);
  });

  function named(spanName: string): ReadableSpan[] {
    return exporter.getFinishedSpans().filter((span) => span.name === spanName);
  }

  describe(`tracing across ${name}`, () => {
    it('the worker continues the sender’s trace from the message headers, retries included', async () => {
      const queue = `traced-${randomUUID().slice(0, 8)}`;
      queues.push(queue);
      // Separate transports for sender and worker: the context can only cross the broker inside
      // the message.
      const sending = createTransport('client');
      const working = createTransport('worker');
      let attempts = 0;
      const task = defineTask({
        name: taskName,
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
        await vi.waitFor(() => expect(named(`process ${queue}`)).toHaveLength(2), { timeout: 30_000 });
        await vi.waitFor(() => expect(named('handler work')).toHaveLength(1));

        const [root] = named('request');
        const [send] = named(`send ${queue}`);
        expect(send!.parentSpanContext?.spanId).toBe(root!.spanContext().spanId);
        expect(send!.attributes).toMatchObject({
          'messaging.system': messagingSystem,
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
            'messaging.system': messagingSystem,
            'messaging.destination.name': queue,
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
    }, 60_000);
  });
  return { named };
}
