// First: @conveyor/amqp must load before amqplib (see src/int64-header-decoding.ts).
import '../src/index.js';
import type { Delivery, WireMessage } from '@conveyor/core';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queues: string[] = [];
afterAll(() => rabbitHarness('cleanup').cleanup?.(queues));

const letter: WireMessage = {
  headers: { task: 'limit.any', id: 'limit-1' },
  properties: { content_type: 'application/json', content_encoding: 'utf-8' },
  body: Buffer.from('[[], {}, {}]'),
};

/** Takes one delivery of `queue` and settles it with `settle`; false when none comes in 10 s. */
async function takeAndSettle(queue: string, settle: (delivery: Delivery) => Promise<void>): Promise<boolean> {
  const transport = new AmqpTransport({ url: RABBIT_URL, queueType: 'quorum', deliveryLimit: 2 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<boolean>((resolve, reject) => {
      timer = setTimeout(() => resolve(false), 10_000);
      transport
        .consume(queue, async (delivery) => settle(delivery).then(() => resolve(true), reject), {
          prefetch: 1,
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await transport.close();
  }
}

describe('AMQP quorum dead-letter queue', () => {
  // The dead-letter queue is the end of the line: a delivery limit there, with nowhere to route,
  // would drop letters once someone had looked at them (`conveyor dlq list`) a few times.
  it('keeps a letter given back more often than the source queue delivery limit', async () => {
    const queue = `dlq-limit-${Math.random().toString(36).slice(2, 8)}`;
    queues.push(queue, `${queue}.dlq`, `${queue}.dlq.dlq`);
    const transport = new AmqpTransport({ url: RABBIT_URL, queueType: 'quorum', deliveryLimit: 2 });
    try {
      await transport.declareQueue({ name: queue });
      await transport.publish(queue, letter);
      expect(await takeAndSettle(queue, (delivery) => delivery.reject('limit test'))).toBe(true);
      // Declared as the dead-letter tooling declares it (a queue with no dead-letter queue).
      await transport.declareQueue({ name: `${queue}.dlq`, deadLetterQueue: null });
      const looks: boolean[] = [];
      for (let look = 1; look <= 5; look++) {
        looks.push(await takeAndSettle(`${queue}.dlq`, (delivery) => delivery.nack()));
      }
      expect(looks).toEqual([true, true, true, true, true]);
      let ready = 0;
      for (let i = 0; i < 40 && ready === 0; i++) {
        ready = (await transport.queueDepth(`${queue}.dlq`)).ready;
        if (ready === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).toBe(1);
    } finally {
      await transport.close();
    }
  });

  it('keeps a dead-letter queue an earlier version declared with the delivery limit', async () => {
    const queue = `dlq-old-${Math.random().toString(36).slice(2, 8)}`;
    queues.push(queue, `${queue}.dlq`, `${queue}.dlq.dlq`);
    const connection = await amqplib.connect(RABBIT_URL);
    try {
      const channel = await connection.createChannel();
      await channel.assertQueue(`${queue}.dlq`, {
        durable: true,
        arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2 },
      });
    } finally {
      await connection.close();
    }
    const transport = new AmqpTransport({ url: RABBIT_URL, queueType: 'quorum', deliveryLimit: 2 });
    try {
      await transport.declareQueue({ name: queue });
      await transport.publish(queue, letter);
      expect(await takeAndSettle(queue, (delivery) => delivery.reject('old dlq'))).toBe(true);
      expect(await takeAndSettle(`${queue}.dlq`, (delivery) => delivery.ack())).toBe(true);
    } finally {
      await transport.close();
    }
  });
});
