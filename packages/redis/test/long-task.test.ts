import { Client, defineTask, Worker } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisTransport } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

// Its own db: apps/bench's Redis suite test uses 10 and asserts it is left empty.
const DB = 8;
const queue = `long-${Math.random().toString(36).slice(2, 8)}`;

afterAll(async () => {
  const redis = rawClient(DB);
  const k = queueKeys(queue, '', false);
  await redis.del(...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence);
  redis.disconnect();
});

describe('a task longer than the visibility timeout', () => {
  it('runs once: the worker heartbeat extends its deadline while it runs', async () => {
    const visibilityTimeoutMs = 600;
    const transport = new RedisTransport({ ...REDIS, db: DB, visibilityTimeoutMs, pollIntervalMs: 50 });
    // A second worker on the same queue would take the message if its deadline ran out.
    const rival = new RedisTransport({ ...REDIS, db: DB, visibilityTimeoutMs, pollIntervalMs: 50 });
    let runs = 0;
    const slow = defineTask({
      name: 'long.slow',
      ignoreResult: true,
      handler: async () => {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, visibilityTimeoutMs * 4));
      },
    });
    const done: string[] = [];
    const workers = [transport, rival].map(
      (t) => new Worker({ transport: t, tasks: [slow], queues: [queue], concurrency: 2 }),
    );
    for (const worker of workers) {
      worker.on('succeeded', (e) => done.push(e.taskId));
      await worker.start();
    }
    await new Client({ transport, defaultQueue: queue }).send(slow, []);
    await expect.poll(() => done.length, { timeout: 20_000 }).toBe(1);
    // Past several timeouts: nobody else picked it up.
    await new Promise((resolve) => setTimeout(resolve, visibilityTimeoutMs * 2));
    expect(runs).toBe(1);
    for (const worker of workers) await worker.stop();
    await transport.close();
    await rival.close();
  }, 60_000);
});
