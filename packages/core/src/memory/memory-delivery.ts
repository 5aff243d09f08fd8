import { LeaseLostError } from '../errors/delivery-errors.js';
import type { MalformedMessageError } from '../errors/message-errors.js';
import { TransportClosedError, UnsupportedFeatureError } from '../errors/transport-errors.js';
import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type Delivery,
  type NackOptions,
  RAW_CONTENT_TYPE,
} from '../transport/delivery.js';
import { checkDelay } from '../transport/publish-checks.js';
import type { MemoryConsumer } from './memory-consumer.js';
import type { MemoryQueue } from './memory-queue.js';
import type { MemoryTransport } from './memory-transport.js';
import type { StoredMessage } from './stored-message.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** States after which settling does nothing (or fails, once the connection is closed). */
type DeliveryState = 'open' | 'settled' | 'expired' | 'closed';

/** A message handed to a MemoryTransport consumer. */
export class MemoryDelivery implements Delivery {
  readonly message: WireMessage | null;
  readonly malformed: MalformedMessageError | null;
  readonly consumer: MemoryConsumer;
  readonly stored: StoredMessage;
  /** Fixed at hand-out: the stored count grows when the message is handed out again. */
  readonly deliveryCount: number;
  /** Epoch ms after which the visibility sweep hands the message out again. */
  deadline = Number.POSITIVE_INFINITY;
  state: DeliveryState = 'open';
  readonly #queue: MemoryQueue;

  constructor(
    queue: MemoryQueue,
    consumer: MemoryConsumer,
    stored: StoredMessage,
    message: WireMessage | null,
    malformed: MalformedMessageError | null,
  ) {
    this.#queue = queue;
    this.consumer = consumer;
    this.stored = stored;
    this.deliveryCount = stored.deliveryCount;
    this.message = message;
    this.malformed = malformed;
    const transport = consumer.owner as MemoryTransport;
    const timeout = transport.visibilityTimeoutMs;
    if (timeout !== null) this.deadline = Date.now() + timeout;
  }

  get orderingKey(): string | undefined {
    return this.stored.orderingKey;
  }

  get queue(): string {
    return this.#queue.name;
  }

  get settled(): boolean {
    return this.state !== 'open';
  }

  ack(): Promise<void> {
    if (this.state !== 'open') return this.#late('ack');
    this.state = 'settled';
    this.#queue.release(this);
    return RESOLVED;
  }

  nack(options?: NackOptions): Promise<void> {
    if (this.state !== 'open') return this.#late('nack');
    const delayMs = options?.delayMs ?? 0;
    try {
      if (delayMs !== 0) checkDelay(this.#transport.name, this.#transport.capabilities, delayMs, 'delayMs');
    } catch (error) {
      return Promise.reject(error);
    }
    this.state = 'settled';
    this.#queue.release(this);
    if (delayMs > 0) this.#queue.delay(this.stored, Date.now() + delayMs);
    else this.#queue.enqueue(this.stored, true);
    return RESOLVED;
  }

  reject(reason: string): Promise<void> {
    if (this.state !== 'open') return this.#late('reject');
    const transport = this.#transport;
    if (!transport.capabilities.deadLetter) {
      return Promise.reject(
        new UnsupportedFeatureError('deadLetter', 'reject() was called', { transport: transport.name }),
      );
    }
    if (this.#queue.deadLetterQueue === null) {
      return Promise.reject(
        new UnsupportedFeatureError(
          'deadLetter',
          `queue "${this.queue}" was declared without a dead-letter queue`,
          {
            transport: transport.name,
          },
        ),
      );
    }
    this.state = 'settled';
    this.#queue.release(this);
    this.#queue.deadLetter({
      message: this.#deadLetterMessage(String(reason)),
      raw: null,
      priority: 0,
      deliveryCount: 0,
    });
    return RESOLVED;
  }

  extendVisibility(ms: number): Promise<void> {
    const transport = this.#transport;
    if (!transport.capabilities.visibilityExtension) {
      return Promise.reject(
        new UnsupportedFeatureError('visibilityExtension', 'extendVisibility() was called', {
          transport: transport.name,
        }),
      );
    }
    if (this.state === 'open') this.deadline = Date.now() + ms;
    return RESOLVED;
  }

  /** Called by the visibility sweep: the message goes back to the queue. */
  expire(): void {
    if (this.state !== 'open') return;
    this.state = 'expired';
    this.#queue.release(this);
    this.#queue.enqueue(this.stored, true);
  }

  /** Called by `close()` of the owning transport. */
  returnOnClose(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.#queue.release(this);
  }

  get #transport(): MemoryTransport {
    return this.consumer.owner as MemoryTransport;
  }

  #late(operation: string): Promise<void> {
    if (this.state === 'closed') {
      return Promise.reject(new TransportClosedError(`${operation} of a delivery`, { transport: 'memory' }));
    }
    if (this.state === 'expired') {
      return Promise.reject(
        new LeaseLostError(operation, 'its visibility timeout ran out', { transport: 'memory' }),
      );
    }
    return RESOLVED;
  }

  #deadLetterMessage(reason: string): WireMessage {
    const extra: Record<string, JsonValue> = {
      [DEAD_LETTER_REASON_HEADER]: reason,
      [DEAD_LETTER_SOURCE_HEADER]: this.queue,
    };
    if (this.message) {
      return { ...this.message, headers: { ...this.message.headers, ...extra } };
    }
    return {
      headers: extra,
      properties: { content_type: RAW_CONTENT_TYPE, content_encoding: 'binary' },
      body: this.stored.raw ?? new Uint8Array(0),
    };
  }
}
