import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerConnectionError,
  Client,
  type ConsumeOptions,
  type Delivery,
  type DeliveryHandler,
  defineTask,
  MemoryTransport,
  type PublishEntry,
  type PublishOptions,
  type QueueSpec,
  type Transport,
  type WireMessage,
  Worker,
} from '../src/index.js';
import { eventually, uniqueBroker } from './helpers.js';

/**
 * The memory transport, except that the first `failures` settles fail as a cut connection makes
 * them fail, before reaching the broker: the delivery stays held there, taking its prefetch slot.
 */
class CutConnectionTransport implements Transport {
  readonly name: string;
  readonly capabilities: Transport['capabilities'];
  failedSettles = 0;

  constructor(
    readonly inner: MemoryTransport,
    public failures: number,
  ) {
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
    return this.inner.consume(queue, (delivery) => handler(this.#cut(delivery)), options);
  }

  #cut(delivery: Delivery): Delivery {
    const settle = async (apply: () => Promise<void>): Promise<void> => {
      if (this.failures > 0) {
        this.failures -= 1;
        this.failedSettles += 1;
        throw new BrokerConnectionError('settle failed: socket hang up');
      }
      await apply();
    };
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
      ack: () => settle(() => delivery.ack()),
      nack: (options) => settle(() => delivery.nack(options)),
      reject: (reason) => settle(() => delivery.reject(reason)),
      extendVisibility: (ms) => delivery.extendVisibility(ms),
    };
  }
}

const workers: Worker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop({ deadlineMs: 1000 });
});

// Issue 13 §1: the chaos runner saw SQS and Kafka workers stop consuming for good after a broker
// restart: the ack failed, the give-back nack failed too, and the delivery kept its prefetch slot.
describe('a Worker whose ack and give-back both fail on a cut connection', () => {
  it('gives the message back once the connection works again, so its slot frees and the queue goes on', async () => {
    const queue = 'give-back';
    // No visibility timeout: nothing but a settle ever frees a held delivery.
    const transport = new CutConnectionTransport(
      new MemoryTransport({ broker: uniqueBroker('give-back') }),
      3,
    );
    const ran: number[] = [];
    const record = defineTask({
      name: 'give-back.record',
      ignoreResult: true,
      handler: ([n]: [number]) => {
        ran.push(n);
      },
    });
    const client = new Client({ transport, defaultQueue: queue });
    await client.send(record, [1]);
    await client.send(record, [2]);
    const errors: unknown[] = [];
    const worker = new Worker({ transport, tasks: [record], queues: [queue], concurrency: 1 });
    worker.on('error', ({ error }) => errors.push(error));
    workers.push(worker);
    await worker.start();
    // The ack of task 1 fails, then its give-back twice; the third try gives it back, it runs
    // again (at least once) and task 2, which waited for the one prefetch slot, runs too.
    await eventually(() => expect(ran).toContain(2), 15_000);
    expect(transport.failedSettles).toBe(3);
    expect(ran.filter((n) => n === 1).length).toBeGreaterThanOrEqual(1);
    expect(errors).toHaveLength(3);
  }, 20_000);
});
