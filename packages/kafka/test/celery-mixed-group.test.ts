import { Client, defineTask, Worker } from '@conveyor/core';
import { startCeleryWorker } from '@conveyor/python-interop';
import { missingInteropPrerequisites, skipCeleryInterop } from '@conveyor/python-interop/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { deleteQueues, KAFKA_ADDRESS, rawKafka } from './kafka-harness.js';

// A Python Celery worker (kombu 5.7, confluent-kafka) and a Conveyor worker as members of one
// consumer group. Every Conveyor member offers the sticky protocol first and round-robin under
// librdkafka's name second, so the group settles on `roundrobin` when a librdkafka member is in
// it; kafkajs's own name alone made the second to join fail with INCONSISTENT_GROUP_PROTOCOL
// (measured before the rename: Celery logged it 22 times and ran none of 10 tasks). Shared groups
// stay unsupported (kombu commits everything it polled with one ack); this pins that they form.
const QUEUE = `kafka-mixed-${Math.random().toString(36).slice(2, 8)}`;
const TASKS = 20;

const unavailable = await missingInteropPrerequisites({
  broker: `Kafka at ${KAFKA_ADDRESS} (bash tooling/brokers/brokers.sh up kafka)`,
  probeBroker: async () => {
    const admin = rawKafka().admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  },
});

if (unavailable) {
  skipCeleryInterop('Kafka (mixed group)', unavailable);
} else {
  describe('a Celery worker and a Conveyor worker in one consumer group', () => {
    const transport = new KafkaTransport({
      brokers: [KAFKA_ADDRESS],
      sessionTimeoutMs: 6000,
      partitions: 2,
      delayTopicPrefix: 'conveyor-kafka-tests.delay',
    });
    const ranHere = new Set<string>();
    const add = defineTask({
      name: 'interop.add',
      handler: ([a, b]: [number, number], context) => {
        ranHere.add(context.id);
        return a + b;
      },
    });
    const worker = new Worker({ transport, tasks: [add], queues: [QUEUE], concurrency: 5 });
    let celery: Awaited<ReturnType<typeof startCeleryWorker>> | undefined;

    afterAll(async () => {
      await celery?.stop();
      await worker.stop({ deadlineMs: 2000 });
      await transport.close();
      await deleteQueues([QUEUE, `${QUEUE}.dlq`]);
    });

    it('share the queue: both run tasks, every task runs, no protocol error', async () => {
      // Two partitions, created the Conveyor way, so that each member gets one.
      await transport.declareQueue({ name: QUEUE });
      await worker.start();
      celery = await startCeleryWorker({
        brokerUrl: `confluentkafka://${KAFKA_ADDRESS}`,
        queue: QUEUE,
        transportOptions: { wait_time_seconds: 1 },
      });
      // The group re-forms with the Python member; give the join a moment before sending.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const client = new Client({ transport });
      const handles = await client.sendMany(
        add,
        Array.from({ length: TASKS }, (_, i) => [i, 1] as [number, number]),
        { queue: QUEUE },
      );
      const ids = handles.map((h) => h.id);
      const ranByPython = (): Set<string> =>
        new Set(ids.filter((id) => celery!.logs().includes(`interop.add[${id}] succeeded`)));
      await expect
        .poll(() => ids.filter((id) => !ranHere.has(id) && !ranByPython().has(id)).length, {
          timeout: 60_000,
          interval: 500,
        })
        .toBe(0);
      expect(celery.logs()).not.toContain('INCONSISTENT_GROUP_PROTOCOL');
      expect(ranHere.size).toBeGreaterThan(0);
      expect(ranByPython().size).toBeGreaterThan(0);
      console.log(
        `kafka mixed group: ${TASKS} tasks, ${ranHere.size} ran on Conveyor, ${ranByPython().size} on Celery`,
      );
    }, 120_000);
  });
}
