import type { JsonValue } from '../message/json-value.js';
import {
  CELERY_TASK_NAME,
  MESSAGING_BATCH_MESSAGE_COUNT,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  messagingSystem,
} from './messaging-attributes.js';
import { type OtelSpan, SPAN_KIND_PRODUCER, SPAN_STATUS_ERROR } from './otel-api.js';
import { headersSetter } from './trace-headers.js';
import type { ResolvedTracing } from './tracing-options.js';

/** What one send (one task, or a batch of the same task to one queue) is about. */
export interface PublishDescription {
  queue: string;
  taskName: string;
  transportName: string;
  messageCount: number;
}

/**
 * The PRODUCER span of one `send`/`sendMany` (`send <queue>`): started before the messages are
 * encoded, so that its context goes into their headers, and ended when the broker has them. A
 * batch is one span whose context every message carries (the conventions' batch send without
 * per-message creation spans).
 */
export class ProducerSpan {
  readonly #span: OtelSpan;
  /** The headers the trace context adds to each message of the send. */
  readonly headers: Record<string, JsonValue> = {};

  constructor(tracing: ResolvedTracing, description: PublishDescription) {
    const { api, tracer } = tracing;
    const batch = description.messageCount > 1;
    this.#span = tracer.startSpan(
      `send ${description.queue}`,
      {
        kind: SPAN_KIND_PRODUCER,
        attributes: {
          [MESSAGING_SYSTEM]: messagingSystem(description.transportName),
          [MESSAGING_DESTINATION_NAME]: description.queue,
          [MESSAGING_OPERATION_TYPE]: 'send',
          [MESSAGING_OPERATION_NAME]: 'send',
          [CELERY_TASK_NAME]: description.taskName,
          [MESSAGING_BATCH_MESSAGE_COUNT]: batch ? description.messageCount : undefined,
        },
      },
      api.context.active(),
    );
    api.propagation.inject(api.trace.setSpan(api.context.active(), this.#span), this.headers, headersSetter);
  }

  /** The task id of a single-message send. */
  messageId(id: string): void {
    this.#span.setAttribute(MESSAGING_MESSAGE_ID, id);
  }

  /** The broker did not take the messages. */
  fail(error: unknown): void {
    recordFailure(this.#span, error);
  }

  end(): void {
    this.#span.end();
  }
}

/** ERROR status with the exception recorded, as the conventions ask of a failed operation. */
export function recordFailure(span: OtelSpan, error: unknown): void {
  const exception = error instanceof Error ? error : String(error);
  span.recordException(exception);
  span.setStatus({
    code: SPAN_STATUS_ERROR,
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  if (error instanceof Error) span.setAttribute('error.type', error.name);
}
