import type {
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  MemoryTransport,
  PublishEntry,
  PublishOptions,
  QueueSpec,
  Transport,
  WireMessage,
} from '../src/index.js';

/** Which of a delivery's settlements is on its way to the broker. */
export type SettleKind = 'ack' | 'nack' | 'reject';

/**
 * The memory transport, except that every ack, nack and reject of a delivery first passes through
 * `settle`, so a test can watch settlements or make them fail before they reach the broker.
 * Everything else goes to the memory transport unchanged.
 */
export class SettleInterceptingTransport implements Transport {
  readonly name: string;
  readonly capabilities: Transport['capabilities'];

  constructor(readonly inner: MemoryTransport) {
    this.name = inner.name;
    this.capabilities = inner.capabilities;
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
  queueDepth(queue: string) {
    return this.inner.queueDepth(queue);
  }
  health() {
    return this.inner.health();
  }
  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    return this.inner.consume(queue, (delivery) => handler(this.#intercepted(delivery)), options);
  }

  /** Sends the settlement on by calling `apply`; a subclass watches it or fails it instead. */
  protected async settle(_kind: SettleKind, _delivery: Delivery, apply: () => Promise<void>): Promise<void> {
    await apply();
  }

  #intercepted(delivery: Delivery): Delivery {
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
      get orderingKey() {
        return delivery.orderingKey;
      },
      rawPayload: () => delivery.rawPayload?.() ?? null,
      ack: () => this.settle('ack', delivery, () => delivery.ack()),
      nack: (options) => this.settle('nack', delivery, () => delivery.nack(options)),
      reject: (reason) => this.settle('reject', delivery, () => delivery.reject(reason)),
      extendVisibility: (ms) => delivery.extendVisibility(ms),
    };
  }
}
