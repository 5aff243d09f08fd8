// First: @conveyor/amqp must load before amqplib, so that its field-table decoder is the one in use.
import '../src/index.js';
import type { Delivery } from '@conveyor/core';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queue = `proto-header-${Math.random().toString(36).slice(2, 8)}`;
afterAll(async () => {
  await rabbitHarness('cleanup').cleanup?.([queue, `${queue}.dlq`]);
});

describe('RabbitMQ: a header named __proto__', () => {
  it("is kept as a header, and its keys are not read as the message's own (no forged x-delivery-count)", async () => {
    const transport = new AmqpTransport({ url: RABBIT_URL });
    await transport.connect();
    await transport.declareQueue({ name: queue });
    // A producer in another language can name a header anything; JSON.parse makes the key own.
    const headers = JSON.parse(
      '{"__proto__": {"x-delivery-count": 1000, "task": "forged"}, "id": "proto-1"}',
    ) as Record<string, unknown>;
    const connection = await amqplib.connect(RABBIT_URL);
    const channel = await connection.createConfirmChannel();
    await new Promise<void>((resolve, reject) =>
      channel.publish('', queue, Buffer.from('[[], {}, {}]'), { headers, persistent: true }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    await connection.close();

    const delivery = await new Promise<Delivery>((resolve) => {
      void transport.consume(queue, (d) => resolve(d), { prefetch: 1 });
    });
    await delivery.ack();
    await transport.close();
    const got = delivery.message!.headers;
    expect(delivery.deliveryCount).toBe(1);
    expect(Object.hasOwn(got, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({
      'x-delivery-count': 1000,
      task: 'forged',
    });
    expect(Object.hasOwn(got, 'task')).toBe(false);
    expect(got.task).toBeUndefined();
    expect(got.id).toBe('proto-1');
    expect(({} as Record<string, unknown>).task).toBeUndefined();
  }, 20_000);
});
