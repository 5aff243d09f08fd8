import { Client, defineTask, InvalidOptionError, Worker } from '@conveyor/core';
import { startCeleryWorker } from '@conveyor/python-interop';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisResultBackend, RedisTransport } from '../src/index.js';
import { CLUSTER_NODES, REDIS, rawClient } from './redis-harness.js';

// Issue 10, item 4: on Redis a delay waits in a zset that the broker never releases by itself. Each
// test leaves no Conveyor consumer on its queue, so only the code under test can move the message.
// Db 14 is this file's own; every test uses a key prefix of its own too, so a SCAN sees only it.
const DB = 14;
const RESULTS = `redis://127.0.0.1:6379/${DB}`;
const suffix = Math.random().toString(36).slice(2, 8);
const prefixes: string[] = [];
const transports: RedisTransport[] = [];

function prefixFor(name: string): string {
  const prefix = `delayed-${name}-${suffix}/`;
  prefixes.push(prefix);
  return prefix;
}

function transport(keyPrefix: string): RedisTransport {
  const t = new RedisTransport({ ...REDIS, db: DB, keyPrefix, pollIntervalMs: 50 });
  transports.push(t);
  return t;
}

afterAll(async () => {
  for (const t of transports) await t.close().catch(() => {});
  const redis = rawClient(DB);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a client that sends with delayedDelivery "broker" and stays connected', () => {
  it('moves the message from the zset to its list once due, with no consumer anywhere', async () => {
    const prefix = prefixFor('timer');
    const keys = queueKeys('q', prefix, false);
    const client = new Client({ transport: transport(prefix), defaultQueue: 'q', delayedDelivery: 'broker' });
    const redis = rawClient(DB);
    try {
      const sentAt = Date.now();
      await client.send('t.any', [1], { countdownMs: 400 });
      // Parked, not ready: a Python worker's BRPOP cannot see it yet.
      expect(await redis.llen(keys.ready[0])).toBe(0);
      expect(await redis.zcard(keys.delayed)).toBe(1);
      await expect.poll(() => redis.llen(keys.ready[0]), { timeout: 10_000, interval: 25 }).toBe(1);
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(400 - 50);
      expect(await redis.zcard(keys.delayed)).toBe(0);
      const envelope = JSON.parse((await redis.lindex(keys.ready[0], 0)) ?? '{}');
      expect(envelope.headers.task).toBe('t.any');
    } finally {
      redis.disconnect();
    }
  });

  it('stops releasing once closed (the timer dies with the transport)', async () => {
    const prefix = prefixFor('closed');
    const keys = queueKeys('q', prefix, false);
    const t = transport(prefix);
    const client = new Client({ transport: t, defaultQueue: 'q', delayedDelivery: 'broker' });
    await client.send('t.any', [], { countdownMs: 150 });
    await t.close();
    await sleep(600);
    const redis = rawClient(DB);
    expect(await redis.zcard(keys.delayed)).toBe(1);
    expect(await redis.llen(keys.ready[0])).toBe(0);
    redis.disconnect();
  });
});

describe('RedisTransport.releaseDelayed', () => {
  it('finds every queue with a delayed set under its key prefix and moves only what is due', async () => {
    const prefix = prefixFor('scan');
    const sender = transport(prefix);
    const client = new Client({ transport: sender, delayedDelivery: 'broker' });
    await client.send('t.any', [], { queue: 'a', countdownMs: 100 });
    await client.send('t.any', [], { queue: 'a', countdownMs: 100, priority: 0 });
    await client.send('t.any', [], { queue: 'b', countdownMs: 100 });
    await client.send('t.any', [], { queue: 'later', countdownMs: 60_000 });
    await sender.close(); // its timer must not be what moves them
    await sleep(300);

    const releaser = transport(prefix);
    const pass = await releaser.releaseDelayed();
    expect(pass.queues).toEqual(['a', 'b', 'later']);
    expect(pass.released).toEqual({ a: 2, b: 1 });
    expect(pass.total).toBe(3);
    expect(pass.nextDueInMs).toBeGreaterThan(30_000);
    expect(pass.nextDueInMs).toBeLessThanOrEqual(60_000);
    const redis = rawClient(DB);
    // The priority-0 message went to its own kombu list, as a fresh publish would.
    expect(await redis.llen(queueKeys('a', prefix, false).ready[0])).toBe(1);
    expect(await redis.llen(queueKeys('a', prefix, false).ready[3])).toBe(1);
    expect(await redis.llen(queueKeys('b', prefix, false).ready[0])).toBe(1);
    expect(await redis.zcard(queueKeys('later', prefix, false).delayed)).toBe(1);
    redis.disconnect();

    const again = await releaser.releaseDelayed(['a', 'b']);
    expect(again).toMatchObject({ queues: ['a', 'b'], released: {}, total: 0, nextDueInMs: null });
  });

  it('finds delayed queues on every master of a Redis Cluster', async () => {
    const prefix = prefixFor('cluster');
    const sender = new RedisTransport({ cluster: CLUSTER_NODES, keyPrefix: prefix });
    transports.push(sender);
    const client = new Client({ transport: sender, delayedDelivery: 'broker' });
    // Enough queues that their hash slots land on more than one of the three masters.
    const queues = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    for (const queue of queues) await client.send('t.any', [], { queue, countdownMs: 60_000 });
    const pass = await sender.releaseDelayed();
    expect(pass.queues).toEqual(queues);
    expect(pass.total).toBe(0);
    expect(pass.nextDueInMs).toBeGreaterThan(30_000);
    // Cleaned up here: the afterAll's KEYS runs on the single server only.
    await sender.close();
    const cluster = new Cluster(CLUSTER_NODES);
    for (const queue of queues) await cluster.del(queueKeys(queue, prefix, true).delayed);
    cluster.disconnect();
  });
});

describe('delayedDelivery on Redis', () => {
  it('is "eta" by default (delay mode emulated) and "broker" when asked', () => {
    const t = transport(prefixFor('option'));
    expect(t.capabilities.delay.mode).toBe('emulated');
    expect(new Client({ transport: t }).delayedDelivery).toBe('eta');
    expect(new Client({ transport: t, delayedDelivery: 'auto' }).delayedDelivery).toBe('eta');
    expect(new Client({ transport: t, delayedDelivery: 'broker' }).delayedDelivery).toBe('broker');
  });

  it('refuses an unknown value with InvalidOptionError naming delayedDelivery', () => {
    const t = transport(prefixFor('bad-option'));
    const make = () => new Client({ transport: t, delayedDelivery: 'later' as 'eta' });
    expect(make).toThrow(InvalidOptionError);
    expect(make).toThrow(/"delayedDelivery".*'auto', 'broker', 'eta'.*"later"/);
  });

  it('"eta" pushes the message ready at once; a Conveyor worker still runs it no earlier than its eta', async () => {
    const prefix = prefixFor('eta');
    const keys = queueKeys('q', prefix, false);
    const sender = transport(prefix);
    const redis = rawClient(DB);
    const ran: number[] = [];
    const task = defineTask({
      name: 't.clock',
      ignoreResult: true,
      handler: () => {
        ran.push(Date.now());
      },
    });
    try {
      const sentAt = Date.now();
      await new Client({ transport: sender, defaultQueue: 'q' }).send(task, [], { countdownMs: 800 });
      // What Celery does: ready now, the eta in the header (a Python worker holds it until then).
      expect(await redis.llen(keys.ready[0])).toBe(1);
      expect(await redis.zcard(keys.delayed)).toBe(0);
      const envelope = JSON.parse((await redis.lindex(keys.ready[0], 0)) ?? '{}');
      expect(Date.parse(envelope.headers.eta)).toBeGreaterThanOrEqual(sentAt + 800);

      const worker = new Worker({ transport: transport(prefix), tasks: [task], queues: ['q'] });
      await worker.start();
      await expect.poll(() => ran.length, { timeout: 10_000, interval: 25 }).toBe(1);
      await worker.stop();
      expect(ran[0]! - sentAt).toBeGreaterThanOrEqual(800 - 50);
    } finally {
      redis.disconnect();
    }
  });
});

describe('a Python Celery worker and a Conveyor client in "broker" mode', () => {
  it('runs the countdown: the connected client releases it to the list the worker pops', async () => {
    // Python's kombu knows no key prefix here: the queue name is the whole key.
    const queue = `delayed-python-${suffix}`;
    prefixes.push(queue);
    const celery = await startCeleryWorker({ brokerUrl: RESULTS, resultBackend: RESULTS, queue });
    const results = new RedisResultBackend(RESULTS);
    try {
      const client = new Client({
        transport: transport(''),
        results,
        defaultQueue: queue,
        delayedDelivery: 'broker',
      });
      const sentAt = Date.now();
      const handle = await client.send('interop.add', [1, 2], { countdownMs: 1_000 });
      await expect(handle.get({ timeout: 20_000 })).resolves.toBe(3);
      const meta = await results.get(handle.id);
      prefixes.push(`celery-task-meta-${handle.id}`);
      expect(Date.parse(String(meta?.date_done)) - sentAt).toBeGreaterThanOrEqual(1_000 - 50);
    } finally {
      await celery.stop();
      await results.close();
      const redis = rawClient(DB);
      await redis.del(`_kombu.binding.${queue}`, `_kombu.binding_permanent.${queue}`);
      redis.disconnect();
    }
  }, 120_000);
});
