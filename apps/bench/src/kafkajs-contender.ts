import { type Consumer, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { Countdown, inBatches, processTimeoutMs, versionOf } from './contenders.js';
import { celeryKafkaArgument, celeryKafkaValue } from './kafka-celery-message.js';
import { anchorGroupId, inLanes, type KafkaContender, type KafkaTarget } from './kafka-contenders.js';

/** A kafkajs client of the bench's own, quiet: failures reach the run as errors, not as log lines. */
export function kafkajsClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/**
 * The durable producer every contender matches: idempotent, one request in flight (kafkajs requires
 * it for idempotence), acks = -1 (all in-sync replicas) on every send.
 */
export function durableKafkajsProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** One `send` of Celery-format records carrying `values`, acks -1. */
export async function sendCeleryRecords(
  producer: Producer,
  topic: string,
  task: string,
  values: readonly number[],
): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: values.map((value) => ({ value: celeryKafkaValue(topic, task, value) })),
  });
}

/**
 * The least an at-least-once kafkajs worker does: `eachBatch` runs the handler on every record of
 * the batch (at most `concurrency` at once), resolves the last offset and commits it before the
 * next batch of that partition: one OffsetCommit per batch, no per-message bookkeeping. Partitions
 * are consumed concurrently up to the concurrency, and the handlers in flight never exceed it.
 */
function kafkajsConsumer(
  target: KafkaTarget,
  concurrency: number,
  handle: (value: Buffer | null) => void,
  onDone: (count: number) => void,
  onError: (error: unknown) => void,
) {
  const kafka = kafkajsClient(target.brokers, 'bench-kafkajs');
  const producer = durableKafkajsProducer(kafka);
  const consumer: Consumer = kafka.consumer({ groupId: anchorGroupId(target) });
  const partitionsAtOnce = Math.max(1, Math.min(concurrency, target.partitions));
  const lanes = Math.max(1, Math.floor(concurrency / partitionsAtOnce));
  let joined: Promise<void> | undefined;
  return {
    producer,
    async open(): Promise<void> {
      await Promise.all([producer.connect(), consumer.connect()]);
      await consumer.subscribe({ topics: [target.topic], fromBeginning: true });
    },
    /** Starts the run loop; resolves once the consumer has joined its group. */
    async start(): Promise<void> {
      joined = new Promise<void>((resolve) => {
        consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => onError(payload.error));
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: partitionsAtOnce,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
          const { messages } = batch;
          const last = messages.at(-1);
          if (!last) return;
          await inLanes(messages, lanes, async (message) => handle(message.value));
          resolveOffset(last.offset);
          await commitOffsetsIfNecessary({
            topics: [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
              },
            ],
          });
          onDone(messages.length);
          await heartbeat();
        },
      });
      await joined;
    },
    async close(): Promise<void> {
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    },
  };
}

/** Raw kafkajs: the at-least-once ceiling of the client Conveyor's transport is built on. */
export const kafkajsContender: KafkaContender = {
  id: 'kafkajs',
  name: `raw kafkajs ${versionOf('kafkajs')} eachBatch (anchor)`,
  throughput(target, tasks, concurrency, clock) {
    const countdown = new Countdown(tasks, 'raw kafkajs', processTimeoutMs(tasks));
    const pair = kafkajsConsumer(
      target,
      concurrency,
      (value) => {
        clock.started();
        celeryKafkaArgument(value);
      },
      (count) => {
        for (let i = 0; i < count; i++) countdown.tick();
      },
      (error) => countdown.fail(error),
    );
    return {
      open: () => pair.open(),
      async enqueue() {
        await inBatches(tasks, concurrency, (from, count) =>
          sendCeleryRecords(
            pair.producer,
            target.topic,
            'bench.noop',
            Array.from({ length: count }, (_, i) => from + i),
          ),
        );
      },
      async process() {
        countdown.arm();
        await pair.start();
        await countdown.finished;
      },
      close: () => pair.close(),
    };
  },
  pickup(target, concurrency, hooks) {
    const pair = kafkajsConsumer(
      target,
      concurrency,
      (value) => hooks.started(celeryKafkaArgument(value)),
      () => hooks.done(),
      () => {},
    );
    return {
      async start() {
        await pair.open();
        await pair.start();
      },
      send: (sentAt) => sendCeleryRecords(pair.producer, target.topic, 'bench.ping', [sentAt]),
      close: () => pair.close(),
    };
  },
};
