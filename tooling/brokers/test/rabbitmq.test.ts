import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp, UP_TIMEOUT_MS, uniqueName } from './brokers.js';

describe('rabbitmq on 127.0.0.1:5672', () => {
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  const queues: string[] = [];

  beforeAll(async () => {
    await brokerUp('rabbitmq');
    connection = await connect('amqp://guest:guest@127.0.0.1:5672');
    channel = await connection.createConfirmChannel();
  }, UP_TIMEOUT_MS);

  afterAll(async () => {
    for (const queue of queues) await channel?.deleteQueue(queue);
    await connection?.close();
  });

  function publish(queue: string, body: string, messageId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      channel.sendToQueue(
        queue,
        Buffer.from(body),
        { messageId, contentType: 'text/plain', persistent: true },
        (error: unknown) => (error ? reject(error) : resolve()),
      );
    });
  }

  it('speaks AMQP 0-9-1 to a RabbitMQ server', () => {
    expect(connection.connection.serverProperties.product).toBe('RabbitMQ');
  });

  it('publishes with publisher confirms, consumes and acks', async () => {
    const queue = uniqueName('conveyor.brokers.q');
    queues.push(queue);
    const declared = await channel.assertQueue(queue, { durable: true });
    expect(declared).toMatchObject({ queue, messageCount: 0, consumerCount: 0 });

    const bodies = ['one', 'two', 'three'];
    await Promise.all(bodies.map((body, i) => publish(queue, body, `m${i}`)));
    await channel.waitForConfirms();
    expect((await channel.checkQueue(queue)).messageCount).toBe(3);

    const received: ConsumeMessage[] = [];
    const done = new Promise<void>((resolve) => {
      void channel.consume(queue, (message) => {
        if (!message) return;
        received.push(message);
        channel.ack(message);
        if (received.length === bodies.length) resolve();
      });
    });
    await channel.prefetch(10);
    await done;

    expect(received.map((m) => m.content.toString())).toEqual(bodies);
    expect(received.map((m) => m.properties.messageId)).toEqual(['m0', 'm1', 'm2']);
    expect(received.every((m) => m.fields.redelivered === false)).toBe(true);

    const consumerTag = received[0]!.fields.consumerTag;
    await channel.cancel(consumerTag);
    expect(await channel.checkQueue(queue)).toMatchObject({ messageCount: 0, consumerCount: 0 });
  });

  it('gives a rejected message back with the redelivered flag', async () => {
    const queue = uniqueName('conveyor.brokers.q');
    queues.push(queue);
    await channel.assertQueue(queue, { durable: false });
    await publish(queue, 'again', 'r1');

    const first = await channel.get(queue, { noAck: false });
    if (!first) throw new Error(`no message in ${queue}`);
    expect(first.content.toString()).toBe('again');
    expect(first.fields.redelivered).toBe(false);
    channel.nack(first, false, true);

    const second = await channel.get(queue, { noAck: false });
    if (!second) throw new Error(`the rejected message did not come back to ${queue}`);
    expect(second.content.toString()).toBe('again');
    expect(second.fields.redelivered).toBe(true);
    channel.ack(second);
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
  });
});
