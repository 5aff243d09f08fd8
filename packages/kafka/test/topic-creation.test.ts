import { encodeTaskMessage } from '@conveyor/core/transport';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTransport, kafkaTopicName } from '../src/index.js';
import { isTopicNotReadyYet } from '../src/topic-readiness.js';
import { deleteQueues, fastTransport, rawKafka } from './kafka-harness.js';

// A KRaft broker acknowledges CreateTopics before its metadata cache has the topic: a client that
// asks at once is told "This server does not host this topic-partition". declareQueue must not
// resolve before the topics are usable, nor fail on that answer.
const RUN = Math.random().toString(36).slice(2, 8);
const used: string[] = [];
const open: KafkaTransport[] = [];
let admin: Admin;

function queueName(slug: string): string {
  const name = `tc-${RUN}-${slug}`;
  used.push(name, `${name}.dlq`);
  return name;
}

function transport(): KafkaTransport {
  const t = fastTransport();
  open.push(t);
  return t;
}

/**
 * The topic's partitions as a fresh client sees them; kafkajs's metadata request fails on a topic
 * the broker does not know yet, as a producer or consumer connecting next would.
 */
async function leadersOf(topic: string): Promise<number[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return (topics[0]?.partitions ?? []).map((p) => p.leader);
}

beforeAll(async () => {
  admin = rawKafka().admin();
  await admin.connect();
});

afterAll(async () => {
  await Promise.allSettled(open.map((t) => t.close()));
  await admin.disconnect();
  await deleteQueues(used);
});

describe('KafkaTransport topic creation', () => {
  it('a declared queue and its dead-letter topic have a leader for every partition as soon as declareQueue resolves, 24 fresh queues in a row', async () => {
    const t = transport();
    const queues = Array.from({ length: 24 }, (_, i) => queueName(`fresh-${i}`));
    const started = Date.now();
    // Four at a time, as the worker's queues and the CLI's declarations come.
    for (let i = 0; i < queues.length; i += 4) {
      await Promise.all(
        queues.slice(i, i + 4).map(async (queue) => {
          await t.declareQueue({ name: queue });
          for (const topic of [kafkaTopicName(queue), kafkaTopicName(`${queue}.dlq`)]) {
            const leaders = await leadersOf(topic);
            expect(leaders, topic).toHaveLength(t.options.partitions);
            expect(
              leaders.every((leader) => leader >= 0),
              topic,
            ).toBe(true);
          }
        }),
      );
    }
    console.log(`topic creation: ${queues.length} queues declared and checked in ${Date.now() - started} ms`);
  });

  it('declares, publishes and reads depths after another client deleted a topic whose depth the transport had read', async () => {
    const t = transport();
    const gone = queueName('gone');
    const next = queueName('next');
    await t.declareQueue({ name: gone });
    // kafkajs asks for a topic in every later metadata request of a producer that sent to it and of
    // an admin that read its offsets (queueDepth), until the client is closed.
    await t.publish(gone, encodeTaskMessage({ id: `${gone}-1`, task: 'tc.task', args: [] }));
    expect(await t.queueDepth(gone)).toMatchObject({ ready: 1 });
    await deleteQueues([gone]);
    const started = Date.now();
    await t.declareQueue({ name: next });
    expect((await leadersOf(kafkaTopicName(next))).length).toBe(t.options.partitions);
    // Each client finds out on its own, after kafkajs's retries: both at once.
    await Promise.all([
      t.publish(next, encodeTaskMessage({ id: `${next}-1`, task: 'tc.task', args: [] })),
      t.queueDepth(next),
    ]);
    expect(await t.queueDepth(next)).toMatchObject({ ready: 1 });
    console.log(
      `topic creation: declared, published and read a depth ${Date.now() - started} ms after a deletion`,
    );
  });
});

describe('isTopicNotReadyYet', () => {
  it('waits out the answers of a topic the broker has not taken on yet, and nothing else', () => {
    for (const type of ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION'])
      expect(isTopicNotReadyYet({ type }), type).toBe(true);
    expect(isTopicNotReadyYet({ name: 'KafkaJSTimeout' })).toBe(true);
    expect(isTopicNotReadyYet({ errors: [{ type: 'LEADER_NOT_AVAILABLE' }] })).toBe(true);
    // kafkajs's KafkaJSNumberOfRetriesExceeded, after its own retries.
    expect(
      isTopicNotReadyYet({ name: 'KafkaJSNumberOfRetriesExceeded', cause: { type: 'LEADER_NOT_AVAILABLE' } }),
    ).toBe(true);
    for (const type of ['TOPIC_AUTHORIZATION_FAILED', 'INVALID_REPLICATION_FACTOR', 'POLICY_VIOLATION'])
      expect(isTopicNotReadyYet({ type }), type).toBe(false);
    expect(
      isTopicNotReadyYet({ errors: [{ type: 'LEADER_NOT_AVAILABLE' }, { type: 'POLICY_VIOLATION' }] }),
    ).toBe(false);
    expect(isTopicNotReadyYet(new Error('socket hang up'))).toBe(false);
  });
});
