import { randomBytes } from 'node:crypto';
import { probeMessage } from '@conveyor/conformance';
import {
  BrokerError,
  Client,
  defineTask,
  listDeadLetters,
  PermanentTaskError,
  redriveDeadLetters,
  Worker,
} from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisResultBackend, RedisTransport, type RedisWarning } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

// The ACL users the README's "Least privilege" section shows, created on the shared Redis for
// this file only (unique names, deleted afterwards). Commands run inside Lua scripts are checked
// against the calling user too, so these lists are exactly what the scripts touch.
const DB = 10;
const suffix = randomBytes(4).toString('hex');
const queue = `lp-${suffix}`;
const dlq = `${queue}.dlq`;
const WORKER = { name: `conveyor-lp-worker-${suffix}`, password: `w-${randomBytes(12).toString('hex')}` };
const PRODUCER = { name: `conveyor-lp-producer-${suffix}`, password: `p-${randomBytes(12).toString('hex')}` };
const OPERATOR = { name: `conveyor-lp-operator-${suffix}`, password: `o-${randomBytes(12).toString('hex')}` };

/** Commands every Conveyor connection sends besides its own work. */
const CONNECTION = ['+ping', '+info', '+select', '+client|setname'];

/** What a worker of `q` needs: take, settle, retry (delays), dead letters, wake-ups, results. */
function workerRules(q: string): string[] {
  return [
    'resetkeys',
    'resetchannels',
    '-@all',
    ...CONNECTION,
    '+evalsha',
    '+eval',
    '+lpush',
    '+publish',
    '+subscribe',
    '+unsubscribe',
    // Inside the take, settle, delay, release and storeResult scripts:
    ...['+time', '+zadd', '+zrangebyscore', '+zrange', '+zrem', '+zscore', '+zcard', '+llen'],
    ...['+rpop', '+rpush', '+hget', '+hset', '+hdel', '+hlen', '+incrby', '+get', '+set', '+setex'],
    // kombu's lists: Q and its priority steps Q\x06\x163, Q\x06\x166, Q\x06\x169.
    `~${q}`,
    `~${q}??[369]`,
    `~${q}:cvy:*`,
    // Dead letters are only pushed; one keeps its priority, so the DLQ has priority lists too.
    `%W~${q}.dlq`,
    `%W~${q}.dlq??[369]`,
    '~celery-task-meta-*',
    `&${q}:cvy:wake`,
    `&${q}.dlq:cvy:wake`,
    '&celery-task-meta-*',
  ];
}

/** An operator of `q`'s dead letters (conveyor dlq): the worker's rules, with the DLQ readable. */
function operatorRules(q: string): string[] {
  return workerRules(q)
    .filter((rule) => !rule.startsWith(`%W~${q}.dlq`))
    .concat([`~${q}.dlq`, `~${q}.dlq??[369]`, `~${q}.dlq:cvy:*`]);
}

/** What a producer of `q` needs: push, park delays (and release them), wake consumers, read results. */
function producerRules(q: string): string[] {
  return [
    'resetkeys',
    'resetchannels',
    '-@all',
    ...CONNECTION,
    '+evalsha',
    '+eval',
    '+lpush',
    '+publish',
    // Inside the delay and release scripts:
    ...['+time', '+zadd', '+zrangebyscore', '+zrange', '+zrem'],
    // Write only: LPUSH needs no read, RPOP (and the take script) does.
    `%W~${q}`,
    `%W~${q}??[369]`,
    `~${q}:cvy:delayed`,
    `&${q}:cvy:wake`,
    // Results, for handle.get():
    '+get',
    '+subscribe',
    '+unsubscribe',
    '%R~celery-task-meta-*',
    '&celery-task-meta-*',
  ];
}

const admin = rawClient(DB);
const taskIds: string[] = [];

beforeAll(async () => {
  await admin.call(
    'ACL',
    'SETUSER',
    WORKER.name,
    'reset',
    'on',
    `>${WORKER.password}`,
    ...workerRules(queue),
  );
  await admin.call(
    'ACL',
    'SETUSER',
    PRODUCER.name,
    'reset',
    'on',
    `>${PRODUCER.password}`,
    ...producerRules(queue),
  );
  await admin.call(
    'ACL',
    'SETUSER',
    OPERATOR.name,
    'reset',
    'on',
    `>${OPERATOR.password}`,
    ...operatorRules(queue),
  );
});

afterAll(async () => {
  await admin.call('ACL', 'DELUSER', WORKER.name, PRODUCER.name, OPERATOR.name);
  const keys = [queue, dlq].flatMap((q) => {
    const k = queueKeys(q, '', false);
    return [...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence];
  });
  await admin.del(...keys, ...taskIds.map((id) => `celery-task-meta-${id}`));
  admin.disconnect();
});

/** How many of `user`'s calls Redis refused for a key (its ACL LOG). */
async function refusedCalls(user: string): Promise<number> {
  const log = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
  let count = 0;
  for (const entry of log) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
    if (fields.get('username') === user && fields.get('reason') === 'key')
      count += Number(fields.get('count'));
  }
  return count;
}

function transportAs(
  user: { name: string; password: string },
  warnings: RedisWarning[] = [],
): RedisTransport {
  return new RedisTransport({
    ...REDIS,
    db: DB,
    username: user.name,
    password: user.password,
    pollIntervalMs: 50,
    onWarning: (w) => warnings.push(w),
  });
}

function resultsAs(user: { name: string; password: string }): RedisResultBackend {
  return new RedisResultBackend({ ...REDIS, db: DB, username: user.name, password: user.password });
}

const add = defineTask({
  name: 'lp.add',
  queue,
  retry: { maxRetries: 0 },
  handler: ([a, b]: [number, number]) => a + b,
});
let flakyCalls = 0;
const flaky = defineTask({
  name: 'lp.flaky',
  queue,
  retry: { maxRetries: 2, initialDelayMs: 100, jitter: 'none' },
  handler: () => {
    flakyCalls += 1;
    if (flakyCalls < 3) throw new Error('not yet');
    return 'third time';
  },
});
const refuse = defineTask({
  name: 'lp.refuse',
  queue,
  handler: () => {
    throw new PermanentTaskError('never valid');
  },
});

describe('Redis least privilege: ACL users for a worker and a producer', () => {
  it('the producer publishes plain, delayed (both ways) and prioritised tasks, but cannot consume', async () => {
    const producer = transportAs(PRODUCER);
    const broker = new Client({ transport: producer, delayedDelivery: 'broker' });
    const eta = new Client({ transport: producer });
    try {
      await broker.send(add, [1, 1]);
      await broker.send(add, [2, 2], { priority: 0 });
      await broker.send(add, [3, 3], { countdownMs: 50 });
      await eta.send(add, [4, 4], { countdownMs: 50 });
      // The delayed one stays parked: a script's keys need read access too, so this user cannot
      // run the release script (ready lists are write-only); the workers' takes release it. The
      // refused releaser stops trying rather than repeat a refused call every second.
      const keys = queueKeys(queue, '', false);
      const ready = await Promise.all(keys.ready.map((key) => admin.llen(key)));
      expect(ready.reduce((a, b) => a + b, 0)).toBe(3);
      expect(await admin.zcard(keys.delayed)).toBe(1);
      await expect.poll(() => refusedCalls(PRODUCER.name), { timeout: 5000 }).toBeGreaterThan(0);
      const refusedOnce = await refusedCalls(PRODUCER.name);
      await new Promise((resolve) => setTimeout(resolve, 2500)); // the releaser's idle pass is 1 s
      expect(await refusedCalls(PRODUCER.name)).toBe(refusedOnce);

      // Consuming: the take script is refused (it reads keys this user may only write), as a
      // BrokerError naming the refusal; nothing leaves the lists.
      const errors: unknown[] = [];
      const received: unknown[] = [];
      const controller = new AbortController();
      await producer.consume(queue, async (d) => void received.push(d), {
        prefetch: 10,
        signal: controller.signal,
        onError: (e) => errors.push(e),
      });
      await expect.poll(() => errors.length).toBeGreaterThan(0);
      controller.abort();
      expect(received).toEqual([]);
      expect(errors[0]).toBeInstanceOf(BrokerError);
      expect(String((errors[0] as Error).message)).toMatch(/NOPERM/);
      expect((errors[0] as BrokerError).retryable).toBe(false);
      const after = await Promise.all(keys.ready.map((key) => admin.llen(key)));
      expect(after.reduce((a, b) => a + b, 0)).toBe(3);
    } finally {
      await producer.close();
    }
    // Nor by hand: RPOP needs read access to the list.
    const raw = rawClient(DB);
    try {
      await raw.call('AUTH', PRODUCER.name, PRODUCER.password);
      await expect(raw.rpop(queue)).rejects.toThrow(/NOPERM/);
      await expect(raw.lrange(queue, 0, -1)).rejects.toThrow(/NOPERM/);
    } finally {
      raw.disconnect();
    }
  }, 30_000);

  it('the worker runs them, retries, dead-letters and stores results; the producer reads them', async () => {
    const warnings: RedisWarning[] = [];
    const transport = transportAs(WORKER, warnings);
    const results = resultsAs(WORKER);
    const worker = new Worker({ transport, tasks: [add, flaky, refuse], results, concurrency: 4 });
    const succeeded: unknown[] = [];
    const rejected: string[] = [];
    const errors: unknown[] = [];
    worker.on('succeeded', (e) => succeeded.push(e.result));
    worker.on('rejected', (e) => rejected.push(e.reason));
    worker.on('error', (e) => errors.push(e.error));
    const producer = transportAs(PRODUCER);
    const producerResults = resultsAs(PRODUCER);
    const client = new Client({ transport: producer, results: producerResults });
    await worker.start();
    try {
      // The four of the first test, then more from the producer with its results.
      await expect.poll(() => succeeded.length, { timeout: 10_000 }).toBe(4);
      expect([...succeeded].sort()).toEqual([2, 4, 6, 8]);
      const sum = await client.send(add, [20, 22]);
      taskIds.push(sum.id);
      expect(await sum.get({ timeout: 10_000 })).toBe(42);
      const retried = await client.send(flaky, []);
      taskIds.push(retried.id);
      expect(await retried.get({ timeout: 10_000 })).toBe('third time');
      expect(flakyCalls).toBe(3);
      // A dead letter keeps its priority, so it lands in the DLQ's priority list too.
      for (const priority of [undefined, 0]) {
        const refused = await client.send(refuse, [], priority === undefined ? {} : { priority });
        taskIds.push(refused.id);
      }
      await expect.poll(() => rejected.length, { timeout: 10_000 }).toBe(2);
      const letters = await Promise.all(queueKeys(dlq, '', false).ready.map((key) => admin.llen(key)));
      expect(letters).toEqual([1, 0, 0, 1]);
      // Acked and settled: nothing is left in flight or waiting.
      await expect.poll(() => transport.queueDepth(queue)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
      expect(errors).toEqual([]);
      // INFO is allowed, so the eviction check ran (CONFIG is not needed); noeviction: no warning.
      expect(warnings).toEqual([]);
      const facts = await transport.brokerFacts();
      expect(facts['maxmemory-policy']).toMatch(/^noeviction/);
      expect(facts.persistence).toMatch(/CONFIG GET refused/);
    } finally {
      await worker.stop();
      await Promise.all([transport.close(), results.close(), producer.close(), producerResults.close()]);
    }
  }, 60_000);

  it('the worker settles every way: delayed nack, nack, visibility extension, ack', async () => {
    const transport = transportAs(WORKER);
    const counts: number[] = [];
    const errors: unknown[] = [];
    const controller = new AbortController();
    try {
      await transport.publish(queue, probeMessage(`settle-${suffix}`));
      await transport.consume(
        queue,
        async (delivery) => {
          counts.push(delivery.deliveryCount);
          if (counts.length === 1) await delivery.nack({ delayMs: 50 });
          else if (counts.length === 2) await delivery.nack();
          else {
            await delivery.extendVisibility(5_000);
            await delivery.ack();
          }
        },
        { prefetch: 1, signal: controller.signal, onError: (e) => errors.push(e) },
      );
      await expect.poll(() => counts.length, { timeout: 10_000 }).toBe(3);
      expect(counts).toEqual([1, 2, 3]);
      await expect.poll(() => transport.queueDepth(queue)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
      expect(errors).toEqual([]);
    } finally {
      controller.abort();
      await transport.close();
    }
  }, 30_000);

  it('the worker user can touch no other queue', async () => {
    const transport = transportAs(WORKER);
    try {
      const error = await transport
        .publish(`other-${suffix}`, {
          headers: {},
          properties: { content_type: 'application/json', content_encoding: 'utf-8' },
          body: Buffer.from('[]'),
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect(String((error as Error).message)).toMatch(/NOPERM/);
    } finally {
      await transport.close();
    }
  });

  it('an operator reads and redrives the dead letters (conveyor dlq) with the DLQ readable', async () => {
    const operator = transportAs(OPERATOR);
    try {
      const listing = await listDeadLetters(operator, { queue, idleMs: 500 });
      expect(listing.letters.map((l) => l.task)).toEqual(['lp.refuse', 'lp.refuse']);
      const report = await redriveDeadLetters(operator, { queue, idleMs: 500 });
      expect(report.moved).toBe(2);
      expect(await operator.queueDepth(dlq)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
      expect((await operator.queueDepth(queue)).ready).toBe(2);
    } finally {
      await operator.close();
    }
  }, 30_000);
});
