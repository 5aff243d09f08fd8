import type { MalformedMessageError } from '../errors/message-errors.js';
import type { WireMessage } from '../message/wire-message.js';

/** Header that carries the reason on a dead-lettered message. */
export const DEAD_LETTER_REASON_HEADER = 'x-conveyor-dead-letter-reason';
/** Header that names the queue a dead-lettered message came from. */
export const DEAD_LETTER_SOURCE_HEADER = 'x-conveyor-dead-letter-source';
/**
 * Header on a copy of a message that Conveyor re-published in place of a delivery it gave back (a
 * delayed nack, a message set aside while a suspect runs alone): how many deliveries the message had
 * before this copy. TransportDelivery adds it to the broker's count and removes it from the message,
 * so `deliveryCount` survives the copy and a handler never sees the header.
 */
export const CARRIED_DELIVERY_COUNT_HEADER = 'x-conveyor-delivery-count';
/** Content type of a dead-lettered payload that could not be decoded: its raw bytes. */
export const RAW_CONTENT_TYPE = 'application/octet-stream';

/**
 * The longest `extendVisibility` accepts: 12 hours, SQS's cap on a message's total visibility.
 * A longer task must re-extend (the Worker's heartbeat does).
 */
export const MAX_VISIBILITY_EXTENSION_MS = 12 * 60 * 60 * 1000;

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
   * The payload exactly as the broker held it, where the transport kept it (every transport built
   * on TransportDelivery does). Core uses it to dead-letter an undecodable payload unchanged on a
   * transport that has no dead-lettering of its own.
   */
  rawPayload?(): Uint8Array | null;
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
  /**
   * Sets the redelivery deadline to `ms` from now (not from the previous deadline: it may shorten
   * it). Needs `visibilityExtension`, else UnsupportedFeatureError. `ms` must be 1 to
   * MAX_VISIBILITY_EXTENSION_MS (12 h), else InvalidOptionError naming `ms`. It never settles the
   * delivery, never changes `deliveryCount`, and is a no-op once the delivery is settled. After the
   * lease is gone it rejects with LeaseLostError (the message is not held again), after close with
   * TransportClosedError.
   */
  extendVisibility(ms: number): Promise<void>;
}
