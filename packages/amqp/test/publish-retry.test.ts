import { createFaultProxy, type FaultProxy } from '@conveyor/conformance';
import { BatchPublishError, BrokerConnectionError, Client } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT, RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queues: string[] = [];
const fresh = (label: string): string => {
  const queue = `publish-retry-${label}-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue);
  return queue;
};
afterAll(() => rabbitHarness('cleanup').cleanup?.(queues));

/** Sends `count` tasks in batches of 50 while the proxy cuts every connection mid-way. */
async function sendThroughCuts(client: Client, proxy: FaultProxy, queue: string, count: number) {
  const outcomes: PromiseSettledResult<unknown>[] = [];
  const cutter = setInterval(() => proxy.cutAll(), 40);
  try {
    for (let from = 0; from < count; from += 50) {
      const batch = Array.from({ length: 50 }, (_, i) => [from + i]);
      outcomes.push(...(await Promise.allSettled([client.sendMany('retry.task', batch, { queue })])));
    }
  } finally {
    clearInterval(cutter);
  }
  return outcomes;
}

describe('publishes through a connection that keeps dropping (RabbitMQ behind the fault proxy)', () => {
  it('without publishRetry, what was not confirmed is reported, never silently lost', async () => {
    const proxy = await createFaultProxy({ upstream: RABBIT });
    const queue = fresh('off');
    const url = `amqp://guest:guest@${proxy.endpoint.host}:${proxy.endpoint.port}`;
    const transport = new AmqpTransport({ url, heartbeatSeconds: 5, reconnect: { initialDelayMs: 10 } });
    await transport.declareQueue({ name: queue });
    const outcomes = await sendThroughCuts(new Client({ transport }), proxy, queue, 2000);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      const reason = (f as PromiseRejectedResult).reason as unknown;
      expect(reason instanceof BatchPublishError || reason instanceof BrokerConnectionError).toBe(true);
    }
    await transport.close();
    await proxy.close();
  }, 60_000);

  it('with publishRetry, every task reaches the queue at least once', async () => {
    const proxy = await createFaultProxy({ upstream: RABBIT });
    const queue = fresh('on');
    const url = `amqp://guest:guest@${proxy.endpoint.host}:${proxy.endpoint.port}`;
    const transport = new AmqpTransport({ url, heartbeatSeconds: 5, reconnect: { initialDelayMs: 10 } });
    await transport.declareQueue({ name: queue });
    const client = new Client({ transport, publishRetry: { maxRetries: 20, initialDelayMs: 20 } });
    const outcomes = await sendThroughCuts(client, proxy, queue, 2000);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(proxy.stats().cut).toBeGreaterThan(0);

    // Read back over a direct connection: every task id sent is there (duplicates allowed).
    const reader = new AmqpTransport(RABBIT_URL);
    const seen = new Set<number>();
    await reader.consume(
      queue,
      async (delivery) => {
        const body = JSON.parse(delivery.message?.body.toString() ?? 'null') as [[number]];
        seen.add(body[0][0]);
        await delivery.ack();
      },
      { prefetch: 200 },
    );
    await expect.poll(() => seen.size, { timeout: 30_000 }).toBe(2000);
    await reader.close();
    await transport.close();
    await proxy.close();
  }, 120_000);
});
