import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp, UP_TIMEOUT_MS, uniqueName } from './brokers.js';

describe('kafka on 127.0.0.1:9092 (KRaft)', () => {
  const kafka = new Kafka({
    clientId: 'conveyor-brokers-test',
    brokers: ['127.0.0.1:9092'],
    logLevel: logLevel.ERROR,
  });
  let admin: Admin;
  const topics: string[] = [];

  beforeAll(async () => {
    await brokerUp('kafka');
    admin = kafka.admin();
    await admin.connect();
  }, UP_TIMEOUT_MS);

  afterAll(async () => {
    if (topics.length > 0) await admin?.deleteTopics({ topics });
    await admin?.disconnect();
  });

  it('describes a one-broker cluster', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([expect.objectContaining({ nodeId: 1, host: '127.0.0.1', port: 9092 })]);
    expect(cluster.controller).toBe(1);
  });

  it('creates a topic, produces, consumes in a group and commits offsets', async () => {
    const topic = uniqueName('conveyor-brokers');
    const groupId = uniqueName('conveyor-brokers-group');
    topics.push(topic);

    expect(
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      }),
    ).toBe(true);
    expect(await admin.listTopics()).toContain(topic);

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const messages = Array.from({ length: 10 }, (_, i) => ({
      key: `key-${i}`,
      value: `message-${i}`,
      partition: i % 2,
      headers: { 'conveyor-index': String(i) },
    }));
    const sent = await producer.send({ topic, messages });
    expect(sent.map((r) => r.errorCode)).toEqual([0, 0]);
    await producer.disconnect();

    const watermarks = await admin.fetchTopicOffsets(topic);
    expect(watermarks.map((p) => [p.partition, p.high]).sort()).toEqual([
      [0, '5'],
      [1, '5'],
    ]);

    // A short fetch wait: disconnect() waits for the fetch in flight (5 s by default).
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { partition: number; offset: string; value: string; index: string }[] = [];
    const allReceived = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          received.push({
            partition,
            offset: message.offset,
            value: message.value?.toString() ?? '',
            index: message.headers?.['conveyor-index']?.toString() ?? '',
          });
          if (received.length === messages.length) resolve();
        },
      });
    });
    await allReceived;

    expect(received.map((m) => m.value).sort()).toEqual(messages.map((m) => m.value).sort());
    for (const partition of [0, 1]) {
      const inPartition = received.filter((m) => m.partition === partition);
      expect(inPartition.map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4']);
      expect(inPartition.every((m) => Number(m.index) % 2 === partition)).toBe(true);
    }

    // The committed offset is the next one to read: last offset + 1 per partition.
    await consumer.commitOffsets([
      { topic, partition: 0, offset: '5' },
      { topic, partition: 1, offset: '5' },
    ]);
    await consumer.disconnect();

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed).toHaveLength(1);
    expect(committed[0]!.topic).toBe(topic);
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '5'],
      [1, '5'],
    ]);

    const groups = await admin.describeGroups([groupId]);
    expect(groups.groups[0]).toMatchObject({ groupId, state: 'Empty' });
    await admin.deleteGroups([groupId]);
  });
});
