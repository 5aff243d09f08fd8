import type {
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  HealthStatus,
  MemoryTransport,
  NackOptions,
  PublishEntry,
  PublishOptions,
  QueueDepth,
  QueueSpec,
  Transport,
  WireMessage,
} from '@conveyor/core';

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

/** Overrides some methods of a delivery, keeping the rest. */
function patch(delivery: Delivery, overrides: Partial<Pick<Delivery, 'ack' | 'nack' | 'reject'>>): Delivery {
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
      return delivery.deliveryCount;
    },
    ack: overrides.ack ?? (() => delivery.ack()),
    nack: overrides.nack ?? ((o?: NackOptions) => delivery.nack(o)),
    reject: overrides.reject ?? ((r: string) => delivery.reject(r)),
    extendVisibility: (ms: number) => delivery.extendVisibility(ms),
  };
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
