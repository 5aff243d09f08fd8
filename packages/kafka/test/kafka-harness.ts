import type { ConformanceHarness } from '@conveyor/conformance';
import { Kafka, logLevel } from 'kafkajs';
import {
  consumerGroupOf,
  handoutLedgerGroupOf,
  KafkaTransport,
  type KafkaTransportOptions,
  kafkaTopicName,
} from '../src/index.js';

/** The Kafka that tooling/brokers starts (KRaft, single node). */
export const KAFKA = { host: '127.0.0.1', port: 9092 };
export const KAFKA_ADDRESS = `${KAFKA.host}:${KAFKA.port}`;

/**
 * Quick group membership for tests: a consumer that dies is noticed after 6 s (the broker's
 * group.min.session.timeout.ms) instead of 10.
 */
export const FAST: KafkaTransportOptions = {
  brokers: [KAFKA_ADDRESS],
  sessionTimeoutMs: 6000,
  // Delay topics and forwarder group of this package's tests alone: the tests of other packages
  // (CLI, demo, bench) run at the same time, and each of their processes joining or leaving the
  // shared forwarder group would pause forwarding here.
  delayTopicPrefix: 'conveyor-kafka-tests.delay',
};

/** A transport on the shared Kafka with the fast test settings. */
export function fastTransport(extra: KafkaTransportOptions = {}): KafkaTransport {
  return new KafkaTransport({ ...FAST, ...extra });
}

/** A plain kafkajs client, for what the transport cannot do itself (raw records, clean-up). */
export function rawKafka(): Kafka {
  return new Kafka({ clientId: 'conveyor-test', brokers: [KAFKA_ADDRESS], logLevel: logLevel.NOTHING });
}

/** Deletes the topics and consumer groups of these queues; missing ones are ignored. */
export async function deleteQueues(queues: readonly string[]): Promise<void> {
  const admin = rawKafka().admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = queues.map((q) => kafkaTopicName(q)).filter((t) => existing.has(t));
    const groups = topics.flatMap((t) => [consumerGroupOf(t), handoutLedgerGroupOf(t)]);
    await admin.deleteGroups(groups).catch(() => {});
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/** Conformance harness for the Kafka of tooling/brokers. */
export function kafkaHarness(
  name: string,
  extra: KafkaTransportOptions = {},
  tuning: Pick<ConformanceHarness, 'scale' | 'patienceMs'> = {},
): ConformanceHarness {
  return {
    name,
    ...tuning,
    upstream: KAFKA,
    createTransport: ({ endpoint }) =>
      new KafkaTransport({
        ...FAST,
        ...extra,
        // The broker advertises 127.0.0.1:9092; through the fault proxy every connection must go
        // to the proxy, the bootstrap one and those made after the metadata answer.
        ...(endpoint
          ? {
              brokers: [`${endpoint.host}:${endpoint.port}`],
              addressMap: { [KAFKA_ADDRESS]: `${endpoint.host}:${endpoint.port}` },
            }
          : {}),
      }),
    async publishRaw(queue, bytes) {
      const producer = rawKafka().producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        await producer.send({
          topic: kafkaTopicName(queue),
          acks: -1,
          messages: [{ value: Buffer.from(bytes) }],
        });
      } finally {
        await producer.disconnect();
      }
    },
    cleanup: (queues) => deleteQueues(queues),
  };
}
