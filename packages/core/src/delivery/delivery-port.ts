import type { WireMessage } from '../message/wire-message.js';
import type { TransportCapabilities } from '../transport/capabilities.js';

/**
 * How a delivery leaves its consumer, as the broker has to apply it:
 * - `ack`: remove the message;
 * - `requeue`: give it back, at once (`delayMs` 0) or after `delayMs`, with a higher delivery count;
 * - `dead-lettered`: its dead letter is already stored; remove the original.
 */
export type Settlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'requeue'; readonly delayMs: number }
  | { readonly kind: 'dead-lettered' };

/**
 * The narrow view a delivery has of its transport: the few broker primitives it needs, and nothing
 * else. A transport implements it once (often as a small object beside its consumer) and hands it
 * to every `TransportDelivery`; the delivery never sees the transport itself, so there is no
 * import cycle between transport, consumer and delivery, and the transport class exposes only the
 * contract.
 *
 * Every decision about *whether* a call reaches the broker (settled once, closed, lease lost,
 * capability missing, dead-letter queue missing, option out of range) is made by TransportDelivery
 * before the port is called; the port only translates to the broker.
 */
export interface DeliveryPort<Receipt> {
  /** The transport's name, used in errors. */
  readonly transportName: string;
  /** The transport's capabilities (for the delay, dead-letter and extension checks). */
  readonly capabilities: TransportCapabilities;
  /** Why a lease can be lost on this broker, for LeaseLostError, e.g. `its visibility timeout ran out`. */
  readonly leaseLostReason: string;
  /**
   * Applies a settlement on the broker. Returns (or resolves) true when applied, false when the
   * broker no longer held the message for this consumer (the delivery then reports LeaseLostError).
   * Throwing leaves the delivery unsettled: it may be settled again, or is given back on close.
   * For a `requeue`, `message` already carries the count so far (CARRIED_DELIVERY_COUNT_HEADER):
   * a transport that gives the message back by re-publishing a copy publishes it as it is.
   */
  settle(receipt: Receipt, settlement: Settlement, message: WireMessage | null): boolean | Promise<boolean>;
  /** The dead-letter queue of `queue`, or null when it was declared without one. */
  deadLetterQueueOf(queue: string): string | null;
  /** Stores a dead letter durably. Called before the original is removed: a crash duplicates, never loses. */
  publishDeadLetter(deadLetterQueue: string, letter: WireMessage): Promise<void>;
  /**
   * Moves the redelivery deadline to `ms` from now; false when the lease is already gone. Needed
   * when the capabilities claim `visibilityExtension`.
   */
  extendVisibility?(receipt: Receipt, ms: number): boolean | Promise<boolean>;
  /**
   * Whether this consumer still holds the message, known without a broker call (the channel it came
   * on is still the current one, say). False makes a settle report LeaseLostError at once.
   */
  holds?(receipt: Receipt): boolean;
}
