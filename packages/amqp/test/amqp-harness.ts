import type { ConformanceHarness } from '@conveyor/conformance';
import amqplib from 'amqplib';
import { AmqpTransport, type AmqpTransportOptions } from '../src/index.js';

export const RABBIT = { host: '127.0.0.1', port: 5672 };
export const RABBIT_URL = `amqp://guest:guest@${RABBIT.host}:${RABBIT.port}`;

/** Conformance harness for the real RabbitMQ; the fault proxy sits in front when a case asks. */
export function rabbitHarness(name: string, extra: AmqpTransportOptions = {}): ConformanceHarness {
  return {
    name,
    upstream: RABBIT,
    createTransport: ({ endpoint = RABBIT }) =>
      new AmqpTransport({
        url: `amqp://guest:guest@${endpoint.host}:${endpoint.port}`,
        heartbeatSeconds: 5,
        ...extra,
      }),
    async publishRaw(queue, bytes) {
      const connection = await amqplib.connect(RABBIT_URL);
      const channel = await connection.createConfirmChannel();
      await new Promise<void>((resolve, reject) =>
        channel.publish('', queue, Buffer.from(bytes), { persistent: true }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      await connection.close();
    },
    async cleanup(queues) {
      const connection = await amqplib.connect(RABBIT_URL);
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      // The suite passes every queue a case used, dead-letter queues included.
      for (const queue of queues) {
        await channel.deleteQueue(queue).catch(() => {});
        await channel.deleteExchange(queue).catch(() => {});
      }
      await connection.close().catch(() => {});
    },
  };
}
