// What a current Python Celery client writes to Kafka (kombu's confluentkafka transport) and how kombu
// consumes, checked against the committed reference sample (interop/samples/kafka-record.json) and
// docs/celery-wire.md §5. The sample must decode with @conveyor/core's kombu envelope and task codec,
// which every Conveyor transport reads with; the live capture needs the Kafka of tooling/brokers:
// skipped without one, but failed instead when CI is set.

import { readFileSync } from 'node:fs';
import { decodeKombuEnvelope, decodeTaskMessage } from '@conveyor/core/transport';
import { describe, expect, it } from 'vitest';
import { capturePythonKafkaRecords, INTEROP_DIR, type KafkaRecordCapture } from '../src/index.js';
import { celeryKafkaUrl, kafkaOrSkip } from './kafka.js';
import { pythonJsonDumps } from './redis.js';

const sample = JSON.parse(
  readFileSync(`${INTEROP_DIR}/samples/kafka-record.json`, 'utf8'),
) as KafkaRecordCapture;
const ISO_AWARE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
const BODY = '[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';
/** confluent-kafka's OFFSET_INVALID: what the admin API answers for a partition with no commit. */
const NO_COMMIT = -1001;

describe('the committed Kafka sample (kombu 5.7, confluent-kafka)', () => {
  it('decodes with core: every record value is a kombu envelope holding interop.add(2, 3)', () => {
    expect(sample.messages.map((m) => m.variant)).toEqual([
      'plain',
      'countdown+priority',
      'countdown+expires+priority',
      'at-sign-name',
    ]);
    for (const record of sample.messages) {
      const decoded = decodeKombuEnvelope(record.value);
      const task = decodeTaskMessage(decoded.message);
      expect(task).toMatchObject({
        task: 'interop.add',
        id: record.send_task.task_id,
        args: [2, 3],
        kwargs: {},
      });
      expect(Buffer.from(decoded.message.body).toString('utf8')).toBe(BODY);
      expect(decoded.deliveryTag).toBe(record.envelope.properties.delivery_tag);
      // kombu's own queue name travels as the routing key, '@' and all; the topic drops the '@'.
      expect(decoded.deliveryInfo).toEqual({ exchange: '', routing_key: record.send_task.queue });
      expect(record.topic).toBe(record.send_task.queue.replaceAll('@', ''));
      expect(decoded.brokerPriority).toBe(record.send_task.priority ?? 0);
      // No key, no record headers: nothing but the value carries the message.
      expect(record.key).toBeNull();
      expect(record.headers).toBeNull();
      expect(record.topic_partitions).toBe(1);
    }
    const delayed = sample.messages.find((m) => m.variant === 'countdown+expires+priority');
    const task = decodeTaskMessage(decodeKombuEnvelope(delayed?.value ?? '').message);
    expect(task.eta).toBeInstanceOf(Date);
    expect(task.expires).toBeInstanceOf(Date);
  });

  it("records kombu's group id, its commit-everything ack, and its read of a keyed record with headers", () => {
    const { kombu_consumer: consumer, foreign_record: foreign } = sample;
    expect(consumer.group_id).toBe('interop-capture-consumer-group');
    expect(consumer.polled.map((p) => p.task_id)).toEqual([
      sample.messages[0]?.send_task.task_id,
      sample.messages[1]?.send_task.task_id,
    ]);
    expect(consumer.committed_before_ack).toEqual({ '0': NO_COMMIT });
    // Acking the second record alone committed past the first, which was still unacked.
    expect(consumer.committed_after_acking_the_second).toEqual({ '0': 2 });
    expect(foreign.produced).toMatchObject({ partition: 2, key: 'order-42' });
    expect(foreign.topic_partitions).toBe(3);
    expect(foreign.kombu_read.task_id).toBe('55555555-5555-4555-8555-555555555555');
    expect(foreign.kombu_decoded_body).toEqual(JSON.parse(BODY));
  });
});

const kafka = await kafkaOrSkip('Kafka record capture');

describe.skipIf(!kafka.ok)('Python Celery -> Kafka record (live capture, no worker consuming)', () => {
  it('is the Python json.dumps envelope as the value, no key, no headers; kombu commits all it polled', async () => {
    const queue = `interop-capture-${process.pid}-${Date.now()}`;
    const before = Date.now();
    const live = await capturePythonKafkaRecords({ brokerUrl: celeryKafkaUrl(), queue });
    const after = Date.now();
    expect(live.versions.celery).toBe(sample.versions.celery);
    expect(live.versions.kombu).toBe(sample.versions.kombu);
    expect(live.versions.confluent_kafka).toBe(sample.versions.confluent_kafka);
    expect(live.messages.map((m) => m.variant)).toEqual(sample.messages.map((m) => m.variant));

    for (const [i, record] of live.messages.entries()) {
      const ref = sample.messages[i];
      expect(pythonJsonDumps(record.envelope)).toBe(record.value);
      expect(record.body_decoded).toBe(BODY);
      expect(Object.keys(record.envelope)).toEqual(Object.keys(ref?.envelope ?? {}));
      expect(Object.keys(record.envelope.headers)).toEqual(Object.keys(ref?.envelope.headers ?? {}));
      expect(Object.keys(record.envelope.properties)).toEqual(Object.keys(ref?.envelope.properties ?? {}));
      expect(record.topic).toBe(ref?.topic.replace('interop-capture', queue));
      expect(record).toMatchObject({ key: null, headers: null, topic_partitions: 1, topic_replication: 1 });
      expect(record.envelope.properties.priority).toBe(ref?.envelope.properties.priority);
      expect(record.envelope.properties.expiration).toBe(ref?.envelope.properties.expiration);
      expect(decodeTaskMessage(decodeKombuEnvelope(record.value).message).id).toBe(record.send_task.task_id);
    }
    // A countdown is the eta header only: Kafka holds nothing back (the worker does).
    const delayed = live.messages.find((m) => m.variant === 'countdown+priority');
    expect(delayed?.envelope.headers.eta).toMatch(ISO_AWARE);
    const etaMs = Date.parse(String(delayed?.envelope.headers.eta));
    expect(etaMs).toBeGreaterThanOrEqual(before + 29_000);
    expect(etaMs).toBeLessThanOrEqual(after + 31_000);

    expect(live.kombu_consumer.group_id).toBe(`${queue}-consumer-group`);
    expect(live.kombu_consumer.committed_before_ack).toEqual({ '0': NO_COMMIT });
    expect(live.kombu_consumer.committed_after_acking_the_second).toEqual({ '0': 2 });
    expect(live.foreign_record.kombu_read).toMatchObject({
      task_id: '55555555-5555-4555-8555-555555555555',
      topic: `${queue}.foreign`,
    });
  }, 180_000);
});
