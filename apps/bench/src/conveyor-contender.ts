import { Client, Worker as ConveyorWorker, defineTask, type Transport } from '@conveyor/core';
import { type BrokerContender, Countdown, ENQUEUE_BATCH, inBatches, processTimeoutMs } from './contenders.js';

/** What differs between Conveyor's transports in a suite; everything else is the same Client and Worker. */
export interface ConveyorSetup<Target> {
  /** The package measured, e.g. `@conveyor/redis`. */
  name: string;
  queue(target: Target): string;
  /** A new, unconnected transport: the producer and the worker each get their own, as the anchors do. */
  transport(target: Target): Transport;
  /**
   * Declare the queue when a throughput run opens, where the anchor declares its own (AMQP), so
   * that the timed enqueue is sends only.
   */
  declareQueueOnOpen?: boolean;
  /** Tasks per `sendMany` in the enqueue step (default ENQUEUE_BATCH; SQS: 10, one SendMessageBatch). */
  enqueueBatch?: number;
}

/**
 * Conveyor as a contender: a Client and a Worker (concurrency = the case's level, which is also its
 * prefetch), with a no-op `ignoreResult` task for throughput and one that reports its start for pickup.
 */
export function conveyorContender<Target>(setup: ConveyorSetup<Target>): BrokerContender<'conveyor', Target> {
  return {
    id: 'conveyor',
    name: setup.name,
    throughput(target, tasks, concurrency) {
      const queue = setup.queue(target);
      const noop = defineTask({
        name: 'bench.noop',
        queue,
        ignoreResult: true,
        handler: async (_args: [number]) => undefined,
      });
      const producer = setup.transport(target);
      const client = new Client({ transport: producer });
      const consumer = setup.transport(target);
      const worker = new ConveyorWorker({ transport: consumer, tasks: [noop], concurrency });
      const countdown = new Countdown(tasks, setup.name, processTimeoutMs(tasks));
      worker.on('succeeded', () => countdown.tick());
      worker.on('error', ({ error }) => countdown.fail(error));
      const batchSize = setup.enqueueBatch ?? ENQUEUE_BATCH;
      const batch: [number][] = Array.from({ length: batchSize }, (_, i) => [i]);
      return {
        async open() {
          await Promise.all([producer.connect(), consumer.connect()]);
          if (setup.declareQueueOnOpen) await producer.declareQueue({ name: queue });
        },
        async enqueue() {
          await inBatches(
            tasks,
            concurrency,
            (_from, count) => client.sendMany(noop, count === batchSize ? batch : batch.slice(0, count)),
            batchSize,
          );
        },
        async process() {
          countdown.arm();
          await worker.start();
          await countdown.finished;
        },
        async close() {
          await worker.stop({ deadlineMs: 1000 });
          await Promise.allSettled([consumer.close(), producer.close()]);
        },
      };
    },
    pickup(target, concurrency, hooks) {
      const ping = defineTask({
        name: 'bench.ping',
        queue: setup.queue(target),
        ignoreResult: true,
        handler: async ([sentAt]: [number]) => hooks.started(sentAt),
      });
      const producer = setup.transport(target);
      const client = new Client({ transport: producer });
      const consumer = setup.transport(target);
      const worker = new ConveyorWorker({ transport: consumer, tasks: [ping], concurrency });
      worker.on('succeeded', () => hooks.done());
      return {
        async start() {
          await producer.connect();
          await worker.start();
        },
        async send(sentAt) {
          await client.send(ping, [sentAt]);
        },
        async close() {
          await worker.stop({ deadlineMs: 1000 });
          await Promise.allSettled([consumer.close(), producer.close()]);
        },
      };
    },
  };
}
