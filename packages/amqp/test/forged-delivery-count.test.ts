// First: @conveyor/amqp must load before amqplib, so that its field-table decoder is the one in use.
import '../src/index.js';
import type { Delivery } from '@conveyor/core';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport, type AmqpTransportOptions } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queues: string[] = [];
afterAll(async () => {
  await rabbitHarness('cleanup').cleanup?.(queues);
});

/** Publishes a message whose producer wrote `x-delivery-count` itself, and returns its first delivery. */
async function firstDeliveryOfForged(options: AmqpTransportOptions, forged: number): Promise<Delivery> {
  const queue = `forged-count-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue, `${queue}.dlq`);
  const transport = new AmqpTransport({ url: RABBIT_URL, ...options });
  await transport.connect();
  await transport.declareQueue({ name: queue });
  const connection = await amqplib.connect(RABBIT_URL);
  const channel = await connection.createConfirmChannel();
  await new Promise<void>((resolve, reject) =>
    channel.publish(
      '',
      queue,
      Buffer.from('[[], {}, {}]'),
      { headers: { 'x-delivery-count': forged, task: 't', id: 'i' }, persistent: true },
      (error) => (error ? reject(error) : resolve()),
    ),
  );
  await connection.close();
  const delivery = await new Promise<Delivery>((resolve) => {
    void transport.consume(queue, (d) => resolve(d), { prefetch: 1 });
  });
  await delivery.ack();
  await transport.close();
  return delivery;
}

describe('RabbitMQ: an x-delivery-count header a producer wrote', () => {
  it('does not count on a classic queue, where only the transport counts', async () => {
    const delivery = await firstDeliveryOfForged({}, 1000);
    expect(delivery.deliveryCount).toBe(1);
  }, 20_000);

  it('counts on a quorum queue, as RabbitMQ 3.10 hands it out (a limit the README states)', async () => {
    const delivery = await firstDeliveryOfForged({ queueType: 'quorum' }, 1000);
    expect(delivery.deliveryCount).toBe(1001);
  }, 20_000);
});
