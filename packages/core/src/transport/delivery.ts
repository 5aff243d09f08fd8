import type { MalformedMessageError } from '../errors/message-errors.js';
import type { WireMessage } from '../message/wire-message.js';

/** Header that carries the reason on a dead-lettered message. */
export const DEAD_LETTER_REASON_HEADER = 'x-conveyor-dead-letter-reason';
/** Header that names the queue a dead-lettered message came from. */
export const DEAD_LETTER_SOURCE_HEADER = 'x-conveyor-dead-letter-source';
/** Content type of a dead-lettered payload that could not be decoded: its raw bytes. */
export const RAW_CONTENT_TYPE = 'application/octet-stream';

/** Options of `nack`. */
export interface NackOptions {
  /** Redeliver after this delay instead of at once. Needs `capabilities.delay.mode !== 'none'`. */
  delayMs?: number;
}

/**
 * One message handed to a consumer. Exactly one of ack, nack or reject settles it; later calls
 * are no-ops. Settling after the transport was closed rejects with TransportClosedError, and after
 * the transport stopped holding it (visibility timeout, lost channel or partition) with
 * LeaseLostError: in both cases the message goes (or went) back to its queue.
 */
export interface Delivery {
  /** Queue it was consumed from. */
  readonly queue: string;
  /** The decoded message, or `null` when the broker payload could not be decoded. */
  readonly message: WireMessage | null;
  /** Why the payload could not be decoded; then `reject` it (core does) to dead-letter it. */
  readonly malformed: MalformedMessageError | null;
  /**
   * 1 on first delivery; each redelivery (nack, lost consumer, visibility timeout) adds one. A lower
   * bound where the broker only flags redeliveries (RabbitMQ classic queues: 1, then 2).
   */
  readonly deliveryCount: number;
  /** The ordering key it was published with, where the broker keeps one (SQS group, Kafka key). */
  readonly orderingKey?: string | undefined;
  /** Removes the message from the broker. */
  ack(): Promise<void>;
  /** Returns the message to its queue, now or after `delayMs`. */
  nack(options?: NackOptions): Promise<void>;
  /** Moves the message to the queue's dead-letter queue with `reason`. Needs `deadLetter`. */
  reject(reason: string): Promise<void>;
  /** Pushes the redelivery deadline to `ms` from now. Needs `visibilityExtension`. */
  extendVisibility(ms: number): Promise<void>;
}
