import type { TaskMessage } from '../message/task-message.js';
import {
  CELERY_RETRIES,
  CELERY_TASK_NAME,
  CONVEYOR_DELIVERY_COUNT,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_CONVERSATION_ID,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  messagingSystem,
} from './messaging-attributes.js';
import { type OtelContext, type OtelSpan, SPAN_KIND_CONSUMER } from './otel-api.js';
import { recordFailure } from './producer-span.js';
import { headersGetter } from './trace-headers.js';
import type { ResolvedTracing } from './tracing-options.js';

/** Where one task message was delivered. */
export interface ProcessDescription {
  queue: string;
  transportName: string;
  deliveryCount: number;
}

/**
 * The CONSUMER span of one task message on a worker (`process <queue>`), from decoding to the
 * settle. Its parent is the context the producer put in the message headers (a Conveyor Client,
 * or Python Celery with opentelemetry-instrumentation-celery), so sender, broker wait and handler
 * are one trace; it also links to it, as the conventions ask of process spans. The handler runs
 * inside it: its own spans are children. A retry keeps the message's headers, so every attempt
 * is a child of the original send.
 */
export class ConsumerSpan {
  readonly #span: OtelSpan;
  readonly #context: OtelContext;
  readonly #tracing: ResolvedTracing;

  constructor(tracing: ResolvedTracing, message: TaskMessage, description: ProcessDescription) {
    const { api, tracer } = tracing;
    this.#tracing = tracing;
    const parent = api.propagation.extract(api.ROOT_CONTEXT, message.extraHeaders, headersGetter);
    const creation = api.trace.getSpanContext(parent);
    this.#span = tracer.startSpan(
      `process ${description.queue}`,
      {
        kind: SPAN_KIND_CONSUMER,
        attributes: {
          [MESSAGING_SYSTEM]: messagingSystem(description.transportName),
          [MESSAGING_DESTINATION_NAME]: description.queue,
          [MESSAGING_OPERATION_TYPE]: 'process',
          [MESSAGING_OPERATION_NAME]: 'process',
          [MESSAGING_MESSAGE_ID]: message.id,
          [MESSAGING_MESSAGE_CONVERSATION_ID]: message.rootId !== message.id ? message.rootId : undefined,
          [CELERY_TASK_NAME]: message.task,
          [CELERY_RETRIES]: message.retries,
          [CONVEYOR_DELIVERY_COUNT]: description.deliveryCount,
        },
        links: creation === undefined ? undefined : [{ context: creation }],
      },
      parent,
    );
    this.#context = api.trace.setSpan(parent, this.#span);
  }

  /** Runs the processing with this span active, so the handler's spans are its children. */
  run<T>(processing: () => Promise<T>): Promise<T> {
    return this.#tracing.api.context.with(this.#context, processing);
  }

  /** This attempt failed (whether the task is retried or dead-lettered next). */
  fail(error: unknown): void {
    recordFailure(this.#span, error);
  }

  end(): void {
    this.#span.end();
  }
}
