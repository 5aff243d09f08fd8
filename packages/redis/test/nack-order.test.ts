import { idOf, probeMessage } from '@conveyor/conformance';
import type { Delivery } from '@conveyor/core/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisTransport } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

// Shares db 4 with binary-dead-letter.test.ts; each file uses and deletes its own queue names.
const DB = 4;
const BACKLOG = 20;
const queue = `nack-order-${Math.random().toString(36).slice(2, 8)}`;

afterAll(async () => {
  const redis = rawClient(DB);
  const k = queueKeys(queue, '', false);
  await redis.del(...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence);
  redis.disconnect();
});

describe('Redis: a nacked message', () => {
  it('is redelivered before the backlog queued behind it, with its delivery count raised', async () => {
    const transport = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
    const ids = Array.from({ length: BACKLOG }, (_, i) => `${queue}-${i}`);
    await transport.publishBatch(
      queue,
      ids.map((id, i) => ({ message: probeMessage(id, i) })),
    );
    const seen: { id: string | undefined; count: number }[] = [];
    const controller = new AbortController();
    let nacked = false;
    await transport.consume(
      queue,
      async (delivery: Delivery) => {
        seen.push({ id: idOf(delivery), count: delivery.deliveryCount });
        // The very first message is given back once; everything else is acked.
        if (!nacked) {
          nacked = true;
          await delivery.nack();
        } else {
          await delivery.ack();
        }
      },
      // One at a time: the next message taken after the nack shows where the nacked one went.
      { prefetch: 1, signal: controller.signal },
    );
    try {
      await expect.poll(() => seen.length, { timeout: 10_000, interval: 20 }).toBe(BACKLOG + 1);
    } finally {
      controller.abort();
      await transport.close();
    }
    expect(seen.map((s) => s.id)).toEqual([ids[0], ...ids]);
    expect(seen[0]!.count).toBe(1);
    expect(seen[1]!.count).toBe(2);
    expect(seen.slice(2).every((s) => s.count === 1)).toBe(true);
  }, 30_000);
});
