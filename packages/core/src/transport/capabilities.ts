/** How a transport delays a message. */
export type DelayMode =
  /** The broker holds the message and releases it by itself when due (SQS DelaySeconds, TTL queues). */
  | 'native'
  /**
   * The transport parks or re-publishes messages itself (a Redis sorted set, Kafka bucket topics):
   * nothing is held in worker memory, but only Conveyor processes release them, so a consumer of
   * another kind (Python Celery) never sees them. The Client's `delayedDelivery: 'auto'` sends
   * Celery's way (the `eta` header alone) on such transports.
   */
  | 'emulated'
  /** Delays are not available: a delay option throws UnsupportedFeatureError. */
  | 'none';

/** Scope within which a transport delivers messages in publish order (absent failures). */
export type OrderingScope = 'none' | 'queue' | 'key';

/** How messages held by a consumer that disappears come back. */
export type RedeliveryTrigger =
  /** As soon as the broker notices the consumer is gone (closed connection, AMQP channel). */
  | 'immediate'
  /** After the visibility timeout runs out (SQS, Redis). */
  | 'visibility-timeout'
  /** After the consumer group rebalances (Kafka). */
  | 'rebalance';

/**
 * What a transport can do, on the transport object itself (abstract-level's `supports`). It is
 * the single switch: core refuses options a transport does not claim, and the conformance suite
 * checks that every claim is true and skips (visibly) what is not claimed.
 */
export interface TransportCapabilities {
  /** Delayed delivery. */
  readonly delay: {
    readonly mode: DelayMode;
    /** Longest delay the transport accepts in one hop; `null` = unbounded. Core re-delays longer ones. */
    readonly maxDelayMs: number | null;
    /** How late a due message may be delivered in normal operation (timer or polling granularity). */
    readonly precisionMs: number;
  };
  /** Number of priority levels (core levels 0..n-1, higher first); 0 = no priorities. */
  readonly priorityLevels: number;
  /** Where publish order is kept. `key` requires an `orderingKey` on publish. */
  readonly ordering: OrderingScope;
  /** `reject(reason)` moves the message to a dead-letter queue that keeps the reason. */
  readonly deadLetter: boolean;
  /** Largest `WireMessage.body` in bytes that `publish` accepts. */
  readonly maxMessageBytes: number;
  /** `publishBatch` is one broker round trip rather than a loop. */
  readonly batchPublish: boolean;
  /** `delivery.extendVisibility(ms)` pushes the redelivery deadline back. */
  readonly visibilityExtension: boolean;
  /** `deduplicationId` on publish suppresses duplicates within a window. */
  readonly deduplication: boolean;
  /** How a lost consumer's unacknowledged messages are redelivered. */
  readonly redelivery: {
    readonly trigger: RedeliveryTrigger;
    /** Time after which an unacknowledged delivery is handed out again; `null` = never by time. */
    readonly visibilityTimeoutMs: number | null;
  };
  /**
   * `transport.broadcast` fans messages out to every current subscriber (Celery's event and
   * remote-control exchanges). False where the broker cannot: Celery has no events on SQS, and
   * kombu's Kafka transport has no fanout.
   */
  readonly broadcast: boolean;
}

/** A partial manifest: every missing key takes the most conservative value. */
export type CapabilitiesInput = {
  [K in keyof TransportCapabilities]?: TransportCapabilities[K] extends object
    ? Partial<TransportCapabilities[K]>
    : TransportCapabilities[K];
};

const DEFAULT_CAPABILITIES: TransportCapabilities = {
  delay: { mode: 'none', maxDelayMs: null, precisionMs: 0 },
  priorityLevels: 0,
  ordering: 'none',
  deadLetter: false,
  maxMessageBytes: 256 * 1024,
  batchPublish: false,
  visibilityExtension: false,
  deduplication: false,
  redelivery: { trigger: 'immediate', visibilityTimeoutMs: null },
  broadcast: false,
};

/** Builds a complete, frozen manifest; anything not claimed defaults to "not supported". */
export function defineCapabilities(input: CapabilitiesInput = {}): TransportCapabilities {
  return deepFreeze({
    delay: { ...DEFAULT_CAPABILITIES.delay, ...input.delay },
    priorityLevels: input.priorityLevels ?? DEFAULT_CAPABILITIES.priorityLevels,
    ordering: input.ordering ?? DEFAULT_CAPABILITIES.ordering,
    deadLetter: input.deadLetter ?? DEFAULT_CAPABILITIES.deadLetter,
    maxMessageBytes: input.maxMessageBytes ?? DEFAULT_CAPABILITIES.maxMessageBytes,
    batchPublish: input.batchPublish ?? DEFAULT_CAPABILITIES.batchPublish,
    visibilityExtension: input.visibilityExtension ?? DEFAULT_CAPABILITIES.visibilityExtension,
    deduplication: input.deduplication ?? DEFAULT_CAPABILITIES.deduplication,
    redelivery: { ...DEFAULT_CAPABILITIES.redelivery, ...input.redelivery },
    broadcast: input.broadcast ?? DEFAULT_CAPABILITIES.broadcast,
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
