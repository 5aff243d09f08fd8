import { type Delivery, encodeTaskMessage } from '@conveyor/core/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { consumerGroupOf, type KafkaTransport, kafkaTopicName, TopicMissingError } from '../src/index.js';
import { deleteQueues, fastTransport, rawKafka } from './kafka-harness.js';

// Behaviour the conformance suite does not pin, on the Kafka of tooling/brokers.
const RUN = Math.random().toString(36).slice(2, 8);
const used: string[] = [];
const open: KafkaTransport[] = [];

function queueName(slug: string): string {
  const name = `kb-${RUN}-${slug}`;
  used.push(name, `${name}.dlq`);
  return name;
}

function transport(extra: ConstructorParameters<typeof KafkaTransport>[0] = {}): KafkaTransport {
  const t = fastTransport(typeof extra === 'string' ? {} : extra);
  open.push(t);
  return t;
}

function task(id: string) {
  return encodeTaskMessage({ id, task: 'kb.task', args: [] });
}

/** Consumes into an array; resolves once `count` deliveries arrived. */
function collect(t: KafkaTransport, queue: string, count: number, prefetch = 10) {
  const deliveries: Delivery[] = [];
  const controller = new AbortController();
  let wake: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const started = t.consume(
    queue,
    (d) => {
      deliveries.push(d);
      if (deliveries.length >= count) wake();
    },
    { prefetch, signal: controller.signal },
  );
  return {
    deliveries,
    stop: () => controller.abort(),
    until: async (ms = 30_000) => {
      await started;
      await Promise.race([
        enough,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`got ${deliveries.length} of ${count} deliveries`)), ms),
        ),
      ]);
    },
  };
}

const idOf = (d: Delivery) => String(d.message?.headers.id);

afterAll(async () => {
  await Promise.allSettled(open.map((t) => t.close()));
  await deleteQueues(used);
});

describe('KafkaTransport on a real broker', () => {
  it('commits only below the lowest unsettled offset; a close gives back exactly the unsettled record (those settled above it are skipped), counted once more', async () => {
    const queue = queueName('gap');
    const first = transport({ partitions: 1 });
    await first.declareQueue({ name: queue });
    for (const id of ['a', 'b', 'c']) await first.publish(queue, task(`${queue}-${id}`));
    const held = collect(first, queue, 3);
    await held.until();
    const [, b, c] = held.deliveries;
    expect(held.deliveries.map(idOf)).toEqual([`${queue}-a`, `${queue}-b`, `${queue}-c`]);
    // b and c are done, a is still running when its worker goes away.
    await b!.ack();
    await c!.ack();
    await first.close();

    const second = transport({ partitions: 1 });
    const again = collect(second, queue, 1);
    await again.until();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(again.deliveries.map(idOf)).toEqual([`${queue}-a`]);
    expect(again.deliveries[0]!.deliveryCount).toBe(2);

    // Given back once more: the third owner sees the third delivery.
    await second.close();
    const third = transport({ partitions: 1 });
    const last = collect(third, queue, 1);
    await last.until();
    expect(last.deliveries[0]!.deliveryCount).toBe(3);
    await last.deliveries[0]!.ack();
    expect((await third.queueDepth(queue)).ready).toBe(0);
  }, 90_000);

  it('queueDepth tells records out with a worker from records waiting, across transports', async () => {
    const queue = queueName('depth');
    const producer = transport();
    await producer.declareQueue({ name: queue });
    for (let n = 0; n < 5; n += 1) await producer.publish(queue, task(`${queue}-${n}`));
    const worker = transport();
    const held = collect(worker, queue, 2, 2);
    await held.until();
    await expect
      .poll(() => producer.queueDepth(queue), { timeout: 10_000 })
      .toEqual({ ready: 3, inFlight: 2, delayed: undefined });
  }, 60_000);

  it('a delay longer than one hold travels through several delay topics and is never early', async () => {
    const queue = queueName('hops');
    const t = transport();
    await t.declareQueue({ name: queue });
    const consumer = collect(t, queue, 1);
    const sentAt = Date.now();
    // 3.5 s: held 2 s, then 1 s, then until its due time in the 1 s topic.
    await t.publish(queue, task(`${queue}-later`), { delayMs: 3500 });
    await consumer.until(40_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3500);
    await consumer.deliveries[0]!.ack();
  }, 60_000);

  it('a consume after an aborted one takes its membership over: one member, no rebalance, its deliveries still settle', async () => {
    const queue = queueName('revive');
    const t = transport();
    await t.declareQueue({ name: queue });
    await t.publish(queue, task(`${queue}-1`));
    const first = collect(t, queue, 1, 5);
    await first.until();
    first.stop();
    const second = collect(t, queue, 1, 5);
    await t.publish(queue, task(`${queue}-2`));
    await second.until();
    expect(second.deliveries.map(idOf)).toEqual([`${queue}-2`]);
    // The delivery taken before the abort is still the member's to settle.
    await first.deliveries[0]!.ack();
    await second.deliveries[0]!.ack();
    const admin = rawKafka().admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([consumerGroupOf(kafkaTopicName(queue))]);
      expect(groups[0]!.members).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
    expect(await t.queueDepth(queue)).toMatchObject({ ready: 0, inFlight: 0 });
  }, 60_000);

  it('with createTopics false, a missing topic is a TopicMissingError naming it', async () => {
    const queue = queueName('missing');
    const t = transport({ createTopics: false });
    await expect(t.declareQueue({ name: queue })).rejects.toBeInstanceOf(TopicMissingError);
    await expect(t.publish(queue, task('x'))).rejects.toThrow(new RegExp(`"${queue}".*createTopics`));
    await expect(t.consume(queue, () => {}, { prefetch: 1 })).rejects.toBeInstanceOf(TopicMissingError);
  }, 30_000);
});
