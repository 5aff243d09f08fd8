import { once } from 'node:events';
import {
  Consumer,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import { Countdown, ENQUEUE_BATCH, inBatches, processTimeoutMs, versionOf } from './contenders.js';
import { celeryKafkaArgument, celeryKafkaValue } from './kafka-celery-message.js';
import { anchorGroupId, inLanes, type KafkaContender, type KafkaTarget } from './kafka-contenders.js';

// @platformatic/kafka 2.12 declares Node >= 22.22 and calls Promise.withResolvers (Node 22); on the
// Node 20 the workspace supports, the bench supplies it. Nothing else it uses is newer than Node 20.
const promiseStatics = Promise as unknown as Record<string, unknown>;
if (typeof promiseStatics.withResolvers !== 'function') {
  promiseStatics.withResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** The durable producer every contender matches: idempotent, acks = -1 (all in-sync replicas). */
function durableProducer(target: KafkaTarget): Producer {
  return new Producer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: target.brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  });
}

async function sendCeleryRecords(
  producer: Producer,
  topic: string,
  task: string,
  values: readonly number[],
): Promise<void> {
  await producer.send({
    messages: values.map((value) => ({ topic, value: celeryKafkaValue(topic, task, value) })),
  });
}

/**
 * The least an at-least-once @platformatic/kafka worker does, in the shape of the kafkajs anchor: the
 * consumer's stream (no autocommit; the committed offset, else the earliest) is read a batch at a
 * time (every message it holds when the worker turns to it), the handler runs on each (at most
 * `concurrency` at once), then the last message of each partition in the batch is committed and
 * awaited before the next batch: one OffsetCommit per batch.
 */
function platformaticConsumer(
  target: KafkaTarget,
  concurrency: number,
  handle: (value: Buffer | undefined) => void,
  onDone: (count: number) => void,
  onError: (error: unknown) => void,
) {
  const producer = durableProducer(target);
  const consumer = new Consumer({
    clientId: 'bench-platformatic',
    groupId: anchorGroupId(target),
    bootstrapBrokers: target.brokers,
  });
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  let stopping = false;
  let loop: Promise<void> | undefined;
  const drain = async (from: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> => {
    while (!stopping) {
      const batch: Message<Buffer, Buffer, Buffer, Buffer>[] = [];
      for (let message = from.read(); message !== null; message = from.read()) batch.push(message);
      if (batch.length === 0) {
        await once(from, 'readable');
        continue;
      }
      await inLanes(batch, concurrency, async (message) => handle(message.value));
      const lastOfPartition = new Map<number, Message<Buffer, Buffer, Buffer, Buffer>>();
      for (const message of batch) lastOfPartition.set(message.partition, message);
      await Promise.all([...lastOfPartition.values()].map((message) => message.commit()));
      onDone(batch.length);
    }
  };
  return {
    producer,
    /** Joins the group and starts the fetch loop; resolves once the stream exists (the group is joined). */
    async start(): Promise<void> {
      stream = await consumer.consume({
        topics: [target.topic],
        autocommit: false,
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      });
      stream.on('error', (error) => {
        if (!stopping) onError(error);
      });
      loop = drain(stream).catch((error: unknown) => {
        if (!stopping) onError(error);
      });
    },
    async close(): Promise<void> {
      stopping = true;
      stream?.emit('readable');
      await Promise.allSettled([stream?.close()]);
      await loop;
      await Promise.allSettled([consumer.close(true), producer.close()]);
    },
  };
}

/** Raw @platformatic/kafka: a newer pure-JS client, to show what the client itself costs. */
export const platformaticContender: KafkaContender = {
  id: 'platformatic',
  name: `raw @platformatic/kafka ${versionOf('@platformatic/kafka')} stream (anchor)`,
  throughput(target, tasks, concurrency, clock) {
    const name = 'raw @platformatic/kafka';
    const countdown = new Countdown(tasks, name, processTimeoutMs(tasks));
    const pair = platformaticConsumer(
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
      async open() {
        // What kafkajs's producer.connect() does before the timed enqueue: brokers, metadata, producer id.
        await pair.producer.metadata({ topics: [target.topic] });
        await pair.producer.initIdempotentProducer({});
      },
      async enqueue() {
        await inBatches(
          tasks,
          concurrency,
          (from, count) =>
            sendCeleryRecords(
              pair.producer,
              target.topic,
              'bench.noop',
              Array.from({ length: count }, (_, i) => from + i),
            ),
          ENQUEUE_BATCH,
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
    const pair = platformaticConsumer(
      target,
      concurrency,
      (value) => hooks.started(celeryKafkaArgument(value)),
      () => hooks.done(),
      () => {},
    );
    return {
      start: () => pair.start(),
      send: (sentAt) => sendCeleryRecords(pair.producer, target.topic, 'bench.ping', [sentAt]),
      close: () => pair.close(),
    };
  },
};
