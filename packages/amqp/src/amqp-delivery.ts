import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type Delivery,
  LeaseLostError,
  type MalformedMessageError,
  type NackOptions,
  TransportClosedError,
  UnsupportedFeatureError,
  type WireMessage,
} from '@conveyor/core';
import { checkDelay } from '@conveyor/core/transport';
import type { ConsumeMessage } from 'amqplib';
import type { AmqpConsumer } from './amqp-consumer.js';
import { DELIVERY_COUNT_HEADER } from './wire-mapping.js';

const TRANSPORT = 'amqp';

/** A message delivered on one consumer channel; it can only be settled on that channel. */
export class AmqpDelivery implements Delivery {
  readonly queue: string;
  readonly message: WireMessage;
  readonly malformed: MalformedMessageError | null = null;
  readonly deliveryCount: number;
  readonly orderingKey = undefined;
  state: 'open' | 'settled' | 'closed' = 'open';
  readonly #consumer: AmqpConsumer;
  readonly #raw: ConsumeMessage;
  /** Generation of the consumer channel it came on: after a reconnect, old deliveries are void. */
  readonly #generation: number;

  constructor(
    consumer: AmqpConsumer,
    raw: ConsumeMessage,
    message: WireMessage,
    deliveryCount: number,
    generation: number,
  ) {
    this.#consumer = consumer;
    this.#raw = raw;
    this.queue = consumer.queue;
    this.message = message;
    this.deliveryCount = deliveryCount;
    this.#generation = generation;
  }

  async ack(): Promise<void> {
    if (!this.#begin('ack')) return;
    this.#consumer.settle(this.#raw, 'ack');
  }

  async nack(options?: NackOptions): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    if (delayMs !== 0) checkDelay(TRANSPORT, this.#consumer.transport.capabilities, delayMs, 'delayMs');
    if (delayMs <= 0) {
      if (!this.#begin('nack')) return;
      this.#consumer.settle(this.#raw, 'requeue');
      return;
    }
    this.#assertHeld('nack');
    // A delayed copy goes through the ladder (confirmed) before this one is acked: a crash in
    // between duplicates, never loses. The copy carries the count so far.
    await this.#consumer.transport.publish(
      this.queue,
      this.#withHeaders({ [DELIVERY_COUNT_HEADER]: this.deliveryCount }),
      {
        delayMs,
      },
    );
    if (this.#begin('nack')) this.#consumer.settle(this.#raw, 'ack');
  }

  async reject(reason: string): Promise<void> {
    this.#assertHeld('reject');
    const deadLetterQueue = this.#consumer.transport.deadLetterQueueOf(this.queue);
    if (deadLetterQueue === null) {
      throw new UnsupportedFeatureError(
        'deadLetter',
        `queue "${this.queue}" was declared without a dead-letter queue`,
        {
          transport: TRANSPORT,
        },
      );
    }
    // Not basic.reject: broker dead-lettering keeps no reason. Publish the letter, then ack.
    await this.#consumer.transport.publish(
      deadLetterQueue,
      this.#withHeaders({
        [DEAD_LETTER_REASON_HEADER]: String(reason),
        [DEAD_LETTER_SOURCE_HEADER]: this.queue,
      }),
    );
    if (this.#begin('reject')) this.#consumer.settle(this.#raw, 'ack');
  }

  async extendVisibility(): Promise<void> {
    throw new UnsupportedFeatureError(
      'visibilityExtension',
      "AMQP has no per-delivery lease: RabbitMQ's consumer_timeout applies to the channel",
      { transport: TRANSPORT },
    );
  }

  #withHeaders(extra: Record<string, string | number>): WireMessage {
    return { ...this.message, headers: { ...this.message.headers, ...extra } };
  }

  /** Marks the delivery settled; false when it already was. Throws when it can no longer be. */
  #begin(operation: string): boolean {
    this.#assertHeld(operation);
    if (this.state !== 'open') return false;
    this.state = 'settled';
    return true;
  }

  #assertHeld(operation: string): void {
    if (this.state === 'closed')
      throw new TransportClosedError(`${operation} of a delivery`, { transport: TRANSPORT });
    if (this.state === 'open' && this.#generation !== this.#consumer.generation) {
      throw new LeaseLostError(operation, 'its channel was closed (the broker requeued it)', {
        transport: TRANSPORT,
      });
    }
  }
}
