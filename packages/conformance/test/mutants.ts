import type { MemoryTransport } from '@conveyor/core';
import {
  BrokerConnectionError,
  type ConsumeOptions,
  type Delivery,
  type DeliveryHandler,
  deadLetterMessage,
  type HealthStatus,
  MAX_VISIBILITY_EXTENSION_MS,
  type NackOptions,
  type PublishEntry,
  type PublishOptions,
  type QueueDepth,
  type QueueSpec,
  type Transport,
  type TransportDelivery,
  type WireMessage,
} from '@conveyor/core/transport';

/** Forwards everything to a real MemoryTransport; each mutant overrides one behaviour. */
class ForwardingTransport implements Transport {
  readonly name: string;
  constructor(protected readonly inner: MemoryTransport) {
    this.name = `mutant:${this.constructor.name}`;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  declareQueue(spec: QueueSpec): Promise<void> {
    return this.inner.declareQueue(spec);
  }
  publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    return this.inner.publish(queue, message, options);
  }
  publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    return this.inner.publishBatch(queue, entries);
  }
  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    return this.inner.consume(queue, (d) => handler(this.wrapDelivery(d)), options);
  }
  queueDepth(queue: string): Promise<QueueDepth> {
    return this.inner.queueDepth(queue);
  }
  health(): Promise<HealthStatus> {
    return this.inner.health();
  }
  protected wrapDelivery(delivery: Delivery): Delivery {
    return delivery;
  }
}

/** Overrides some members of a delivery, keeping the rest. */
function patch(
  delivery: Delivery,
  overrides: Partial<Pick<Delivery, 'ack' | 'nack' | 'reject' | 'extendVisibility' | 'deliveryCount'>>,
): Delivery {
  return {
    get queue() {
      return delivery.queue;
    },
    get message() {
      return delivery.message;
    },
    get malformed() {
      return delivery.malformed;
    },
    get deliveryCount() {
      return overrides.deliveryCount ?? delivery.deliveryCount;
    },
    ack: overrides.ack ?? (() => delivery.ack()),
    nack: overrides.nack ?? ((o?: NackOptions) => delivery.nack(o)),
    reject: overrides.reject ?? ((r: string) => delivery.reject(r)),
    extendVisibility: overrides.extendVisibility ?? ((ms: number) => delivery.extendVisibility(ms)),
  };
}

/** Runs a settle, turning a rejection with `code` into a silent success. */
function swallow(code: string, settle: () => Promise<void>): Promise<void> {
  return settle().catch((error: unknown) => {
    if ((error as { code?: unknown }).code === code) return;
    throw error;
  });
}

/** A stale ack (or nack) after the lease ran out resolves silently instead of LeaseLostError. */
export class LateAckAfterLeaseLossSucceeds extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, {
      ack: () => swallow('LEASE_LOST', () => delivery.ack()),
      nack: (o?: NackOptions) => swallow('LEASE_LOST', () => delivery.nack(o)),
    });
  }
}

/**
 * A message nacked with a delay comes back as if new (deliveryCount 1), as a transport that
 * re-publishes a fresh copy without carrying the count would.
 */
export class DelayedNackResetsDeliveryCount extends ForwardingTransport {
  /** Ids nacked with a delay, shared by every connection of the mutant. */
  static readonly delayedIds = new Set<string>();
  protected override wrapDelivery(delivery: Delivery): Delivery {
    const id = String(delivery.message?.headers.id);
    const reset = DelayedNackResetsDeliveryCount.delayedIds.has(id);
    return patch(delivery, {
      ...(reset ? { deliveryCount: 1 } : {}),
      nack: (o?: NackOptions) => {
        if ((o?.delayMs ?? 0) > 0) DelayedNackResetsDeliveryCount.delayedIds.add(id);
        return delivery.nack(o);
      },
    });
  }
}

/**
 * A copy that carries its delivery count (x-conveyor-delivery-count) is counted as new, as a
 * transport with its own Delivery that reads only the broker's count would: the Worker's delivery
 * limit would then never end a crash loop of messages it set aside.
 */
export class IgnoresCarriedCount extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, { deliveryCount: 1 });
  }
}

/**
 * A message handed out again after its visibility timeout keeps the count of its previous
 * delivery, as a transport that counts only nacks and closes would (the broken copy the issue
 * describes). Nacks and a closed connection still raise it.
 */
export class TimeoutRedeliveryKeepsCount extends ForwardingTransport {
  /** The count each id was last handed out with, shared by every connection of the mutant. */
  static readonly lastCount = new Map<string, number>();
  /** Ids whose next delivery follows a nack or a close, which this mutant counts honestly. */
  static readonly explained = new Set<string>();
  readonly #held = new Set<string>();
  protected override wrapDelivery(delivery: Delivery): Delivery {
    const { lastCount, explained } = TimeoutRedeliveryKeepsCount;
    const id = String(delivery.message?.headers.id);
    const previous = lastCount.get(id);
    const count = previous !== undefined && !explained.has(id) ? previous : delivery.deliveryCount;
    lastCount.set(id, count);
    explained.delete(id);
    this.#held.add(id);
    return patch(delivery, {
      deliveryCount: count,
      ack: () => {
        this.#held.delete(id);
        return delivery.ack();
      },
      nack: (o?: NackOptions) => {
        this.#held.delete(id);
        explained.add(id);
        return delivery.nack(o);
      },
    });
  }
  override close(): Promise<void> {
    for (const id of this.#held) TimeoutRedeliveryKeepsCount.explained.add(id);
    this.#held.clear();
    return super.close();
  }
}

/** queueDepth reports nothing in flight and nothing delayed (ready stays right). */
export class DepthIgnoresInFlightAndDelayed extends ForwardingTransport {
  override async queueDepth(queue: string): Promise<QueueDepth> {
    const depth = await this.inner.queueDepth(queue);
    return { ready: depth.ready, inFlight: 0, delayed: 0 };
  }
}

/** Settling a delivery after its transport closed resolves silently instead of TransportClosedError. */
export class SettleAfterCloseSucceeds extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, {
      ack: () => swallow('TRANSPORT_CLOSED', () => delivery.ack()),
      nack: (o?: NackOptions) => swallow('TRANSPORT_CLOSED', () => delivery.nack(o)),
      reject: (r: string) => swallow('TRANSPORT_CLOSED', () => delivery.reject(r)),
      extendVisibility: (ms: number) => swallow('TRANSPORT_CLOSED', () => delivery.extendVisibility(ms)),
    });
  }
}

/** extendVisibility accepts any ms: out of range (0, negative, over 12 h, NaN) it resolves doing nothing. */
export class ExtendVisibilityIgnoresRange extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, {
      extendVisibility: (ms: number) =>
        ms >= 1 && ms <= MAX_VISIBILITY_EXTENSION_MS ? delivery.extendVisibility(ms) : Promise.resolve(),
    });
  }
}

/**
 * extendVisibility of an open delivery, with a valid ms, resolves without extending anything: the
 * message comes back on its old deadline. (Range, close and lease checks still apply.)
 */
export class ExtendDoesNothing extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    const open = (): boolean => (delivery as TransportDelivery).state === 'open';
    return patch(delivery, {
      extendVisibility: (ms: number) =>
        open() && ms >= 1 && ms <= MAX_VISIBILITY_EXTENSION_MS
          ? Promise.resolve()
          : delivery.extendVisibility(ms),
    });
  }
}

/** nack() acks: the message is gone instead of requeued. */
export class LosesNackedMessages extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, { nack: () => delivery.ack() });
  }
}

/** ack() requeues: acked messages come back. */
export class RedeliversAckedMessages extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, { ack: () => delivery.nack() });
  }
}

/** Delays are dropped: everything is delivered at once. */
export class IgnoresDelays extends ForwardingTransport {
  override publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    const { delayMs: _ignored, ...rest } = options ?? {};
    return this.inner.publish(queue, message, rest);
  }
  protected override wrapDelivery(delivery: Delivery): Delivery {
    return patch(delivery, { nack: () => delivery.nack() });
  }
}

/** The prefetch bound is replaced by a huge one. */
export class IgnoresPrefetch extends ForwardingTransport {
  override consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    return super.consume(queue, handler, { ...options, prefetch: 10_000 });
  }
}

/** Acks on receipt, before the handler runs (at-most-once). */
export class AcksBeforeHandler extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    void delivery.ack();
    return delivery;
  }
}

/** close() discards what the consumer holds instead of returning it. */
export class DropsMessagesOnClose extends ForwardingTransport {
  readonly #held = new Set<Delivery>();
  protected override wrapDelivery(delivery: Delivery): Delivery {
    this.#held.add(delivery);
    const settle =
      <T>(fn: () => Promise<T>) =>
      () => {
        this.#held.delete(delivery);
        return fn();
      };
    return patch(delivery, {
      ack: settle(() => delivery.ack()),
      nack: (o?: NackOptions) => settle(() => delivery.nack(o))(),
      reject: (r: string) => settle(() => delivery.reject(r))(),
    });
  }
  override async close(): Promise<void> {
    await Promise.allSettled([...this.#held].map((d) => d.ack()));
    this.#held.clear();
    return super.close();
  }
}

/**
 * Loses nacked messages, and tells its consumers about connection trouble through `onError` the
 * way a real transport does when it reconnects: the failure reason must quote it.
 */
export class ComplainsAndLosesNacks extends LosesNackedMessages {
  override consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    options.onError?.(new BrokerConnectionError('connection to 127.0.0.1:5672 reset, reconnecting'));
    return super.consume(queue, handler, options);
  }
}

/**
 * An undecodable payload is dead-lettered with its reason but without its bytes (the reason stands
 * in for the body), as a transport that keeps only the decoded form would do.
 */
export class DeadLettersGarbageWithoutItsBytes extends ForwardingTransport {
  protected override wrapDelivery(delivery: Delivery): Delivery {
    if (delivery.message !== null) return delivery;
    return patch(delivery, {
      reject: async (reason) => {
        const letter = deadLetterMessage({
          queue: delivery.queue,
          reason,
          message: null,
          raw: new TextEncoder().encode(reason),
        });
        await this.inner.publish(`${delivery.queue}.dlq`, letter);
        await delivery.ack();
      },
    });
  }
}
