import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, defineTask } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisTransport } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

const DB = 12;
const TOTAL = 10_000;
const VISIBILITY_MS = 2000;
const queue = `crash-${Math.random().toString(36).slice(2, 8)}`;
const ranKey = `${queue}:ran`;
const fixture = fileURLToPath(new URL('./fixtures/recording-worker.mjs', import.meta.url));
const redis = rawClient(DB);

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture, queue, String(DB), String(VISIBILITY_MS), ranKey], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

afterAll(async () => {
  const k = queueKeys(queue, '', false);
  await redis.del(...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence, ranKey);
  redis.disconnect();
});

describe('a worker killed with SIGKILL mid-stream', () => {
  it('loses none of 10,000 tasks: after a restart every task has run at least once', async () => {
    const producer = new RedisTransport({ ...REDIS, db: DB });
    const client = new Client({ transport: producer, defaultQueue: queue });
    const record = defineTask({ name: 'crash.record', handler: (_: [number]) => undefined });
    const args = Array.from({ length: TOTAL }, (_, i) => [i] as [number]);
    for (let i = 0; i < TOTAL; i += 1000) await client.sendMany(record, args.slice(i, i + 1000));
    await producer.close();

    const first = await startWorker();
    await expect
      .poll(() => redis.scard(ranKey), { timeout: 60_000, interval: 20 })
      .toBeGreaterThan(TOTAL / 4);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const ranBeforeKill = await redis.scard(ranKey);
    const inFlightAtKill = await redis.zcard(queueKeys(queue, '', false).inflight);
    expect(ranBeforeKill).toBeLessThan(TOTAL);
    expect(inFlightAtKill).toBeGreaterThan(0);

    const second = await startWorker();
    try {
      await expect.poll(() => redis.scard(ranKey), { timeout: 120_000, interval: 100 }).toBe(TOTAL);
      const k = queueKeys(queue, '', false);
      // Then the queue drains: redelivered copies of tasks that had already run (at least once)
      // run too. Redelivered messages run alone (the delivery limit's suspects), so the worker may
      // hold nothing for a moment while copies still wait in the list: wait for both to be empty.
      await expect
        .poll(async () => (await redis.zcard(k.inflight)) + (await redis.llen(queue)), { timeout: 60_000 })
        .toBe(0);
    } finally {
      second.kill('SIGKILL');
    }
    console.log(
      `crash test: ${ranBeforeKill} ran before SIGKILL, ${inFlightAtKill} were in flight and came back`,
    );
  }, 240_000);
});
