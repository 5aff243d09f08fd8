import { Client, Worker as ConveyorWorker, defineTask } from '@conveyor/core';
import { KafkaTransport } from '@conveyor/kafka';
import { Countdown, ENQUEUE_BATCH, inBatches, processTimeoutMs } from './contenders.js';
import type { KafkaContender, KafkaTarget } from './kafka-contenders.js';

/**
 * A new, unconnected @conveyor/kafka transport with its defaults, on the case's brokers and with the
 * case's partition count (the topic exists already; declareQueue finds it and adds `<topic>.dlq`).
 */
function kafkaTransport(target: KafkaTarget): KafkaTransport {
  return new KafkaTransport({ brokers: target.brokers, partitions: target.partitions });
}

/** The defaults the measured transport ran with, as the table's prose names them. */
export function conveyorKafkaDefaults(): string {
  const { commitIntervalMs, deliveryCounts, delayForwarder } = new KafkaTransport({
    brokers: ['127.0.0.1:9092'],
  }).options;
  return `delivery counts stored ${deliveryCounts}, commit interval ${commitIntervalMs} ms, delay forwarder ${delayForwarder ? 'on' : 'off'}`;
}

/**
 * Conveyor on Kafka as the other suites run it: a Client (`sendMany` of 500) and a Worker whose
 * concurrency is the case's level (and so its prefetch), each on a transport of its own, a no-op
 * `ignoreResult` task that starts the drain clock. The same as conveyorContender, plus the clock.
 */
export const conveyorKafkaContender: KafkaContender = {
  id: 'conveyor',
  name: '@conveyor/kafka',
  throughput(target, tasks, concurrency, clock) {
    const queue = target.topic;
    const noop = defineTask({
      name: 'bench.noop',
      queue,
      ignoreResult: true,
      handler: async (_args: [number]) => {
        clock.started();
      },
    });
    const producer = kafkaTransport(target);
    const client = new Client({ transport: producer });
    const consumer = kafkaTransport(target);
    const worker = new ConveyorWorker({ transport: consumer, tasks: [noop], concurrency });
    const countdown = new Countdown(tasks, '@conveyor/kafka', processTimeoutMs(tasks));
    worker.on('succeeded', () => countdown.tick());
    worker.on('error', ({ error }) => countdown.fail(error));
    const batch: [number][] = Array.from({ length: ENQUEUE_BATCH }, (_, i) => [i]);
    return {
      async open() {
        await Promise.all([producer.connect(), consumer.connect()]);
        await producer.declareQueue({ name: queue });
      },
      async enqueue() {
        await inBatches(tasks, concurrency, (_from, count) =>
          client.sendMany(noop, count === ENQUEUE_BATCH ? batch : batch.slice(0, count)),
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
    const queue = target.topic;
    const ping = defineTask({
      name: 'bench.ping',
      queue,
      ignoreResult: true,
      handler: async ([sentAt]: [number]) => hooks.started(sentAt),
    });
    const producer = kafkaTransport(target);
    const client = new Client({ transport: producer });
    const consumer = kafkaTransport(target);
    const worker = new ConveyorWorker({ transport: consumer, tasks: [ping], concurrency });
    worker.on('succeeded', () => hooks.done());
    return {
      async start() {
        await producer.connect();
        await producer.declareQueue({ name: queue });
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
