import type { WireMessage } from '../message/wire-message.js';
import type { Broadcast } from './broadcast.js';
import type { TransportCapabilities } from './capabilities.js';
import type { Delivery } from './delivery.js';

/** Per-message publish options. Each one requires the matching capability. */
export interface PublishOptions {
  /** Deliver no earlier than this many ms from now. Needs `capabilities.delay.mode !== 'none'`. */
  delayMs?: number;
  /**
   * Core priority level, 0..priorityLevels-1, higher first. Needs `priorityLevels > 0`. Unset
   * means the broker's Celery default (on Redis, kombu's base list, served first; on AMQP, 0).
   */
  priority?: number;
  /** Duplicates with the same id inside the broker's window are dropped. Needs `deduplication`. */
  deduplicationId?: string;
  /** Messages with the same key keep their order. Needs `ordering` of `key` or `queue`. */
  orderingKey?: string;
}

/** One message of a batch. */
export interface PublishEntry {
  message: WireMessage;
  options?: PublishOptions;
}

/** A queue and its properties. Declaring the same spec twice is a no-op. */
export interface QueueSpec {
  name: string;
  /** Survives a broker restart where the broker can do that. Default true. */
  durable?: boolean;
  /** Queue that receives rejected messages; default `<name>.dlq`, `null` for none. */
  deadLetterQueue?: string | null;
  /** Priority levels this queue honours (AMQP needs it at declaration). Default: the transport's. */
  priorityLevels?: number;
}

/** Options of a consumer. */
export interface ConsumeOptions {
  /**
   * At most this many deliveries are handed out and not yet settled at any moment, for this
   * consumer. The worker sets it to its concurrency.
   */
  prefetch: number;
  /**
   * Aborting stops new deliveries (like AMQP basic.cancel). Deliveries already handed out stay
   * valid and can still be acked, nacked or rejected.
   */
  signal?: AbortSignal;
  /**
   * Told about trouble the transport is recovering from on its own (a dropped connection being
   * re-established, a consumer being re-registered). The transport keeps consuming; this is for
   * logs and metrics. Without it, the transport stays silent.
   */
  onError?: (error: unknown) => void;
}

/**
 * Called once per delivery. The handler owns the delivery and settles it (ack, nack, reject),
 * possibly later. If it throws or rejects while the delivery is unsettled, the transport nacks
 * the delivery with requeue, so nothing is lost.
 */
export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

/** Counts for `conveyor inspect`. Values a broker cannot tell cheaply are `undefined`. */
export interface QueueDepth {
  /** Waiting to be delivered. */
  ready: number;
  /** Delivered and not settled yet. */
  inFlight: number | undefined;
  /** Published with a delay that has not run out yet. */
  delayed: number | undefined;
}

/** Result of a health check: a real round trip to the broker. */
export interface HealthStatus {
  ok: boolean;
  /** Round-trip time of the check. */
  latencyMs: number;
  /** Why it is not ok, without secrets. */
  detail?: string;
}

/**
 * The contract a broker plugin implements. It is deliberately small: brokers provide these
 * primitives; retries, delay policy, results, time limits and encoding live in core.
 * See docs/transport-contract.md for how each operation maps onto Redis, RabbitMQ, SQS and Kafka.
 *
 * Rules every implementation follows (each has a conformance case):
 * - Delivery is at-least-once: a message leaves the broker only by `ack` or `reject`.
 * - `connect` and `close` are idempotent; `close` returns every unsettled delivery to its queue.
 * - After `close`, every operation rejects with TransportClosedError.
 * - Options the capabilities do not claim throw UnsupportedFeatureError; none is ignored.
 * - A broker payload that cannot be decoded is delivered with `malformed` set, never dropped.
 * - Methods may be called concurrently.
 * - A transport never retries a failed publish or settle; it throws a ConveyorError whose
 *   `retryable` says whether retrying can help, and core decides. It does own its session: after a
 *   dropped connection it reconnects, re-declares and resumes its consumers by itself.
 * - `publishBatch` that stores only part of a batch throws BatchPublishError naming the entries
 *   that were not stored.
 */
export interface Transport {
  /** Short name used in errors and reports, e.g. `memory`, `redis`. */
  readonly name: string;
  /** What this transport can do. Constant for the life of the object. */
  readonly capabilities: TransportCapabilities;

  connect(): Promise<void>;
  close(): Promise<void>;

  declareQueue(spec: QueueSpec): Promise<void>;

  /** Resolves once the broker has the message durably (or as durably as it can). */
  publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void>;
  /** Publishes several messages; resolves when all are stored. Not atomic unless documented. */
  publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void>;

  /** Starts a consumer; resolves when it is registered with the broker. */
  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void>;

  queueDepth(queue: string): Promise<QueueDepth>;
  health(): Promise<HealthStatus>;

  /**
   * Fan-out messages beside the queues (Celery's events, later its remote control). Present
   * exactly when `capabilities.broadcast` is true. See docs/transport-contract.md, "Broadcast".
   */
  readonly broadcast?: Broadcast;
}
