import { createFaultProxy } from '@conveyor/conformance';
import { ConveyorError } from '@conveyor/core';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport, delayRoute, typedHeaders } from '../src/index.js';
import { RABBIT, RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queues: string[] = [];
const fresh = (label: string): string => {
  const queue = `topology-${label}-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue);
  return queue;
};
afterAll(() => rabbitHarness('cleanup').cleanup?.(queues));

describe('AMQP topology and wire details', () => {
  it("declares Celery's topology: durable queue, a direct exchange of the same name bound with it", async () => {
    const transport = new AmqpTransport(RABBIT_URL);
    const queue = fresh('celery');
    await transport.declareQueue({ name: queue });
    const connection = await amqplib.connect(RABBIT_URL);
    const channel = await connection.createConfirmChannel();
    // Published the way a Python producer routing through exchange <queue> does.
    await new Promise<void>((resolve, reject) =>
      channel.publish(
        queue,
        queue,
        Buffer.from('[[1], {}, null]'),
        { headers: { task: 't', id: 'x' } },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    await expect.poll(() => transport.queueDepth(queue).then((d) => d.ready)).toBe(1);
    await connection.close();
    await transport.close();
  });

  it('names the queue and the differing argument when a re-declaration is refused (406)', async () => {
    const queue = fresh('conflict');
    const plain = new AmqpTransport(RABBIT_URL);
    await plain.declareQueue({ name: queue });
    const withPriorities = new AmqpTransport({ url: RABBIT_URL, priorityLevels: 10 });
    const error = await withPriorities.declareQueue({ name: queue }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConveyorError);
    expect(String((error as Error).message)).toContain(`queue "${queue}"`);
    expect(String((error as Error).message)).toContain('x-max-priority');
    // The refused declaration closed only its own short-lived channel: the transport still works.
    await withPriorities.publish(queue, {
      headers: {},
      properties: { content_type: 'application/json', content_encoding: 'utf-8' },
      body: Buffer.from('[]'),
    });
    await plain.close();
    await withPriorities.close();
  });

  it('writes every 32-bit integer header as a signed I (py-amqp misreads b and s), larger ones as l', () => {
    expect(
      typedHeaders({ retries: 300, timelimit: [10, null], small: 3, big: 2 ** 40, neg: -(2 ** 40), f: 1.5 }),
    ).toEqual({
      retries: { '!': 'int', value: 300 },
      timelimit: [{ '!': 'int', value: 10 }, null],
      small: { '!': 'int', value: 3 },
      big: { '!': 'long', value: 2 ** 40 },
      // py-amqp 5.1.1 reads l as unsigned: a negative one is written as a double, exact to 2^53.
      neg: { '!': 'double', value: -(2 ** 40) },
      f: { '!': 'double', value: 1.5 },
    });
  });

  it('routes a delay through exactly the ladder levels of its binary digits, rounded up to seconds', () => {
    const { exchange, routingKey } = delayRoute(5_200, 'emails');
    expect(exchange).toBe('conveyor.delayed.27');
    const bits = routingKey.split('.').slice(0, 28).join('');
    expect(Number.parseInt(bits, 2)).toBe(6);
    expect(routingKey.endsWith('.emails')).toBe(true);
  });

  it('fails at construction naming the option', () => {
    expect(() => new AmqpTransport({ url: 'http://x' })).toThrow(/"url"/);
    expect(() => new AmqpTransport({ priorityLevels: 1 })).toThrow(/"priorityLevels"/);
    expect(() => new AmqpTransport({ queueType: 'quorum', priorityLevels: 4 })).toThrow(/"priorityLevels"/);
    expect(() => new AmqpTransport({ deliveryLimit: 3 })).toThrow(/"deliveryLimit"/);
    expect(() => new AmqpTransport({ nope: 1 } as never)).toThrow(/"nope"/);
  });

  it('fails to connect with BrokerConnectionError, without the password in the message', async () => {
    const transport = new AmqpTransport({ url: 'amqp://guest:hunter2@127.0.0.1:1', connectTimeoutMs: 2000 });
    const error = await transport.connect().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
    expect(String((error as Error).message)).not.toContain('hunter2');
    await transport.close();
  });

  it('gives up after connectTimeoutMs, instead of hanging, when the TCP connection opens but nothing answers', async () => {
    // A blackhole accepts the connection and swallows every byte: only the timeout can end this
    // (a refused port fails at once and would pass without it).
    const proxy = await createFaultProxy({ upstream: RABBIT });
    proxy.blackhole(true);
    const transport = new AmqpTransport({
      url: `amqp://guest:guest@${proxy.endpoint.host}:${proxy.endpoint.port}`,
      connectTimeoutMs: 1000,
      // Longer than the test: only connectTimeoutMs can end the wait.
      publishTimeoutMs: 60_000,
    });
    try {
      const started = performance.now();
      const error = await transport.connect().catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
      expect(String((error as Error).message)).toMatch(/timed out|timeout/i);
      expect(proxy.stats().accepted).toBe(1);
      expect(elapsed).toBeGreaterThanOrEqual(900); // gross bounds: it waited, then gave up
      expect(elapsed).toBeLessThan(15_000);
    } finally {
      await transport.close();
      await proxy.close();
    }
  }, 30_000);
});
