import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type Delivery,
  LeaseLostError,
  type MalformedMessageError,
  type NackOptions,
  RAW_CONTENT_TYPE,
  TransportClosedError,
  UnsupportedFeatureError,
  type WireMessage,
} from '@conveyor/core';
import { checkDelay } from '@conveyor/core/transport';
import type { RedisConsumer } from './redis-consumer.js';

const TRANSPORT = 'redis';

/** A message taken by a RedisConsumer; its receipt identifies it in the in-flight set. */
export class RedisDelivery implements Delivery {
  readonly queue: string;
  readonly message: WireMessage | null;
  readonly malformed: MalformedMessageError | null;
  readonly deliveryCount: number;
  readonly orderingKey = undefined;
  readonly receipt: string;
  /** The envelope exactly as stored, for dead-lettering undecodable payloads. */
  readonly raw: string;
  state: 'open' | 'settled' | 'closed' = 'open';
  readonly #consumer: RedisConsumer;

  constructor(
    consumer: RedisConsumer,
    receipt: string,
    raw: string,
    deliveryCount: number,
    message: WireMessage | null,
    malformed: MalformedMessageError | null,
  ) {
    this.#consumer = consumer;
    this.queue = consumer.queue;
    this.receipt = receipt;
    this.raw = raw;
    this.deliveryCount = deliveryCount;
    this.message = message;
    this.malformed = malformed;
  }

  ack(): Promise<void> {
    return this.#settle('ack', 'a');
  }

  nack(options?: NackOptions): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    if (delayMs !== 0) {
      try {
        checkDelay(TRANSPORT, this.#consumer.transport.capabilities, delayMs, 'delayMs');
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return delayMs > 0 ? this.#settle('nack', 'd', String(Math.ceil(delayMs))) : this.#settle('nack', 'n');
  }

  async reject(reason: string): Promise<void> {
    if (this.state === 'open') {
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
      // The letter is stored before the message leaves: a crash in between duplicates, never loses.
      await this.#consumer.transport.publish(deadLetterQueue, this.#deadLetter(String(reason)));
    }
    return this.#settle('reject', 'r');
  }

  async extendVisibility(ms: number): Promise<void> {
    if (this.state === 'closed')
      throw new TransportClosedError('extendVisibility of a delivery', { transport: TRANSPORT });
    if (this.state !== 'open') return;
    const held = await this.#consumer.batcher.push('x', this.receipt, String(Math.ceil(ms)));
    if (!held)
      throw new LeaseLostError('extendVisibility', 'its visibility timeout ran out', {
        transport: TRANSPORT,
      });
  }

  async #settle(operation: string, op: string, arg = ''): Promise<void> {
    if (this.state === 'closed')
      throw new TransportClosedError(`${operation} of a delivery`, { transport: TRANSPORT });
    if (this.state !== 'open') return;
    this.state = 'settled';
    this.#consumer.released(this);
    const applied = await this.#consumer.batcher.push(op, this.receipt, arg);
    if (!applied) {
      throw new LeaseLostError(operation, 'its visibility timeout ran out before', { transport: TRANSPORT });
    }
  }

  #deadLetter(reason: string): WireMessage {
    const extra = { [DEAD_LETTER_REASON_HEADER]: reason, [DEAD_LETTER_SOURCE_HEADER]: this.queue };
    if (this.message) return { ...this.message, headers: { ...this.message.headers, ...extra } };
    return {
      headers: extra,
      properties: { content_type: RAW_CONTENT_TYPE, content_encoding: 'binary' },
      body: Buffer.from(this.raw, 'utf8'),
    };
  }
}
