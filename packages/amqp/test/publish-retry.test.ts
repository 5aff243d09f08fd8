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

const BATCHES = 20;
const PER_BATCH = 50;
/** Batches sent while the proxy swallows every byte, then cut under them: their confirms never come. */
const CUT_BATCHES = new Set([5, 10, 15]);

/**
 * Sends BATCHES × PER_BATCH tasks one batch at a time. The batches in CUT_BATCHES go out through a
 * blackholed proxy and the connections are then cut, so each of them surely loses its confirms
 * (a timer cutting at random moments made this depend on the machine's speed).
 */
async function sendThroughCuts(client: Client, proxy: FaultProxy, queue: string) {
  const outcomes: PromiseSettledResult<unknown>[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const batch = Array.from({ length: PER_BATCH }, (_, i) => [b * PER_BATCH + i]);
    if (!CUT_BATCHES.has(b)) {
      outcomes.push(...(await Promise.allSettled([client.sendMany('retry.task', batch, { queue })])));
      continue;
    }
    proxy.blackhole(true);
    const sent = client.sendMany('retry.task', batch, { queue });
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.cutAll();
    proxy.blackhole(false);
    outcomes.push(...(await Promise.allSettled([sent])));
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
    const outcomes = await sendThroughCuts(new Client({ transport }), proxy, queue);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    // Exactly the batches whose confirms were cut off; every other one was confirmed.
    expect(failed).toHaveLength(CUT_BATCHES.size);
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
    const outcomes = await sendThroughCuts(client, proxy, queue);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(proxy.stats().cut).toBeGreaterThanOrEqual(CUT_BATCHES.size);

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
    await expect.poll(() => seen.size, { timeout: 30_000 }).toBe(BATCHES * PER_BATCH);
    await reader.close();
    await transport.close();
    await proxy.close();
  }, 120_000);
});
