// First: @conveyor/amqp must load before amqplib (see src/int64-header-decoding.ts).
import '../src/index.js';
import type { Delivery, WireMessage } from '@conveyor/core';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport, type AmqpTransportOptions } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queues: string[] = [];
const fresh = (label: string): string => {
  const queue = `count-${label}-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue, `${queue}.dlq`);
  return queue;
};
afterAll(() => rabbitHarness('cleanup').cleanup?.(queues));

const message = (id: string): WireMessage => ({
  headers: { task: 'count.any', id },
  properties: { content_type: 'application/json', content_encoding: 'utf-8' },
  body: Buffer.from('[[], {}, {}]'),
});

/**
 * Takes the next delivery of `queue` on a transport of its own, then `settle`s it (nothing: the
 * transport closes with it unacked, as a crashed worker would, and the broker requeues it).
 */
async function nextDelivery(
  queue: string,
  options: AmqpTransportOptions,
  settle: (delivery: Delivery) => Promise<void> = async () => {},
): Promise<Delivery> {
  const transport = new AmqpTransport({ url: RABBIT_URL, ...options });
  try {
    const delivery = await new Promise<Delivery>((resolve, reject) => {
      transport.consume(queue, async (d) => resolve(d), { prefetch: 1 }).catch(reject);
    });
    await settle(delivery);
    return delivery;
  } finally {
    await transport.close();
  }
}

/** The next message of `queue` read raw (null when none comes within `ms`). */
async function getRaw(queue: string, ms = 10_000): Promise<amqplib.GetMessage | null> {
  const connection = await amqplib.connect(RABBIT_URL);
  try {
    const channel = await connection.createChannel();
    const until = Date.now() + ms;
    for (;;) {
      const msg = await channel.get(queue, { noAck: true });
      if (msg || Date.now() > until) return msg || null;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await connection.close();
  }
}

describe('AMQP delivery counts', () => {
  for (const queueType of ['classic', 'quorum'] as const) {
    it(`${queueType} queue: exact over crashes, the 4th delivery of a message whose consumers died 3 times reports 4`, async () => {
      const queue = fresh(queueType);
      const producer = new AmqpTransport({ url: RABBIT_URL, queueType });
      await producer.declareQueue({ name: queue });
      await producer.publish(queue, message('crashy'));
      await producer.close();
      const counts: number[] = [];
      for (let crash = 0; crash < 3; crash += 1) {
        counts.push((await nextDelivery(queue, { queueType })).deliveryCount);
      }
      const last = await nextDelivery(queue, { queueType }, (d) => d.ack());
      counts.push(last.deliveryCount);
      expect(counts).toEqual([1, 2, 3, 4]);
      // The count is Conveyor's business: a handler never sees the header that carries it.
      expect(last.message?.headers).not.toHaveProperty('x-conveyor-delivery-count');
      expect(last.message?.headers.id).toBe('crashy');
    }, 30_000);
  }

  it('classic queue: a delayed nack keeps the count, and so does a crash after it', async () => {
    const queue = fresh('delayed');
    const producer = new AmqpTransport(RABBIT_URL);
    await producer.declareQueue({ name: queue });
    await producer.publish(queue, message('delayed'));
    await producer.close();
    const counts: number[] = [];
    counts.push((await nextDelivery(queue, {}, (d) => d.nack({ delayMs: 1000 }))).deliveryCount);
    counts.push((await nextDelivery(queue, {}, (d) => d.nack({ delayMs: 1000 }))).deliveryCount);
    counts.push((await nextDelivery(queue, {})).deliveryCount); // crashes
    counts.push((await nextDelivery(queue, {}, (d) => d.nack())).deliveryCount); // immediate requeue
    counts.push((await nextDelivery(queue, {}, (d) => d.ack())).deliveryCount);
    expect(counts).toEqual([1, 2, 3, 4, 5]);
  }, 30_000);

  it('classic queue: a redelivery whose copy a full queue refuses still counts up on the same transport', async () => {
    const queue = fresh('full');
    const connection = await amqplib.connect(RABBIT_URL);
    const channel = await connection.createChannel();
    // One ready message at most, and a publish beyond it is refused (nacked), not dropped.
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    await connection.close();
    const transport = new AmqpTransport(RABBIT_URL);
    await transport.publish(queue, message('refused'));
    const counts: Record<string, number[]> = { refused: [], filler: [] };
    await transport.consume(
      queue,
      async (delivery) => {
        const id = String(delivery.message?.headers.id);
        counts[id]?.push(delivery.deliveryCount);
        if (id === 'refused' && counts.refused!.length === 1)
          await transport.publish(queue, message('filler'));
        if (id === 'refused' && delivery.deliveryCount < 3) await delivery.nack();
        else await delivery.ack();
      },
      { prefetch: 1, onError: () => {} },
    );
    await expect.poll(() => counts.filler!.length, { timeout: 10_000 }).toBe(1);
    await transport.close();
    // The filler keeps the queue full, so each copy is refused and the message is handed out as it
    // is: the transport's memory of it still counts 2, then 3.
    expect(counts.refused).toEqual([1, 2, 3]);
  }, 30_000);

  it('classic queue: the re-published copy of a redelivery keeps priority, properties and body', async () => {
    const queue = fresh('props');
    const producer = new AmqpTransport({ url: RABBIT_URL, priorityLevels: 10 });
    await producer.declareQueue({ name: queue });
    await producer.close();
    const connection = await amqplib.connect(RABBIT_URL);
    const channel = await connection.createConfirmChannel();
    const properties = {
      persistent: true,
      priority: 7,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: 'corr-1',
      replyTo: 'replies',
      messageId: 'msg-1',
      timestamp: 1_700_000_000,
      type: 'task',
      appId: 'python',
      expiration: '600000',
      headers: { task: 'count.any', id: 'props', custom: 'kept' },
    };
    await new Promise<void>((resolve, reject) =>
      channel.publish('', queue, Buffer.from('[[1], {}, {}]'), properties, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    await connection.close();
    const options = { priorityLevels: 10 };
    await nextDelivery(queue, options); // crashes: redelivered
    // This consumer receives the redelivery, re-publishes it with its count, acks it, and crashes
    // on the copy: the copy is what stays in the queue.
    const copy = await nextDelivery(queue, options);
    expect(copy.deliveryCount).toBe(2);
    expect(copy.message?.properties.priority).toBe(7);
    const raw = await getRaw(queue);
    expect(raw?.content.toString()).toBe('[[1], {}, {}]');
    expect(raw?.properties).toMatchObject({
      deliveryMode: 2,
      priority: 7,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: 'corr-1',
      replyTo: 'replies',
      messageId: 'msg-1',
      timestamp: 1_700_000_000,
      type: 'task',
      appId: 'python',
      expiration: '600000',
      headers: { task: 'count.any', id: 'props', custom: 'kept', 'x-conveyor-delivery-count': 1 },
    });
  }, 30_000);

  it('quorum queue with deliveryLimit: a message past the limit is dead-lettered to <queue>.dlq, not dropped', async () => {
    const queue = fresh('limit');
    const options = { queueType: 'quorum', deliveryLimit: 2 } as const;
    const producer = new AmqpTransport({ url: RABBIT_URL, ...options });
    await producer.declareQueue({ name: queue });
    await producer.publish(queue, message('limited'));
    const transport = new AmqpTransport({ url: RABBIT_URL, ...options });
    const counts: number[] = [];
    await transport.consume(
      queue,
      async (delivery) => {
        counts.push(delivery.deliveryCount);
        await delivery.nack();
      },
      { prefetch: 1 },
    );
    const letter = await getRaw(`${queue}.dlq`);
    await transport.close();
    await producer.close();
    expect(counts).toEqual([1, 2, 3]);
    expect(letter?.properties.headers?.id).toBe('limited');
    expect(letter?.properties.headers?.['x-death']).toEqual([
      expect.objectContaining({ queue, reason: 'delivery_limit' }),
    ]);
  }, 30_000);

  it('quorum queue declared earlier without dead-letter routing (by Celery, say): kept as it is, no PRECONDITION_FAILED', async () => {
    const queue = fresh('existing');
    const connection = await amqplib.connect(RABBIT_URL);
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await connection.close();
    const transport = new AmqpTransport({ url: RABBIT_URL, queueType: 'quorum' });
    await transport.declareQueue({ name: queue });
    await transport.publish(queue, message('existing'));
    const delivery = await nextDelivery(queue, { queueType: 'quorum' }, (d) => d.reject('checked'));
    expect(delivery.message?.headers.id).toBe('existing');
    expect((await getRaw(`${queue}.dlq`))?.properties.headers?.id).toBe('existing');
    await transport.close();
  }, 30_000);
});
