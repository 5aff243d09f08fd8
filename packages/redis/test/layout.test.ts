import { Client, type Delivery, defineTask, MemoryResultBackend, Worker } from '@conveyor/core';
import { decodeKombuEnvelope } from '@conveyor/core/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { KOMBU_SEPARATOR, queueKeys, REDELIVERY_COUNT_RETENTION_MS, RedisTransport } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

const DB = 11;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function fresh(): { transport: RedisTransport; queue: string } {
  const transport = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
  const queue = `layout-${Math.random().toString(36).slice(2, 8)}`;
  cleanups.push(async () => {
    await transport.close();
    const client = rawClient(DB);
    const k = queueKeys(queue, '', false);
    await client.del(
      ...k.ready,
      k.inflight,
      k.payload,
      k.delayed,
      k.counts,
      k.countsAge,
      k.sequence,
      `${queue}.dlq`,
    );
    client.disconnect();
  });
  return { transport, queue };
}

/** What Celery 5.2.6 pushed for add.delay(2, 3), verbatim (docs/celery-wire.md §9.1). */
const PYTHON_ENVELOPE =
  '{"body": "W1syLCAzXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "app.add", "id": "d447abe7-5595-4c51-ab20-9a0a74f4ec3d", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "d447abe7-5595-4c51-ab20-9a0a74f4ec3d", "parent_id": null, "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen7629@vm", "ignore_result": false}, "properties": {"correlation_id": "d447abe7-5595-4c51-ab20-9a0a74f4ec3d", "reply_to": "8c1b8c90-bdb4-3ee3-b90f-b5e959859e18", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "eff7ae77-a5c0-4f69-8f81-ebb865a99b74"}}';

describe('kombu layout on Redis', () => {
  it('publishes a kombu envelope with LPUSH to the queue list, priorities to the \\x06\\x16 lists', async () => {
    const { transport, queue } = fresh();
    const client = new Client({ transport, defaultQueue: queue });
    const add = defineTask({ name: 'tasks.add', handler: ([a, b]: [number, number]) => a + b });
    const sent = await client.send(add, [2, 3]);
    await client.send(add, [1, 1], { priority: 0 });
    await client.send(add, [9, 9], { priority: 2 });
    const redis = rawClient(DB);
    cleanups.push(async () => redis.disconnect());
    const [raw] = await redis.lrange(queue, 0, -1);
    const envelope = JSON.parse(raw!);
    expect(Object.keys(envelope).sort()).toEqual([
      'body',
      'content-encoding',
      'content-type',
      'headers',
      'properties',
    ]);
    expect(envelope['content-type']).toBe('application/json');
    expect(envelope.properties).toMatchObject({
      body_encoding: 'base64',
      delivery_info: { exchange: '', routing_key: queue },
      delivery_mode: 2,
      priority: 0,
      correlation_id: sent.id,
    });
    expect(typeof envelope.properties.delivery_tag).toBe('string');
    expect(JSON.parse(Buffer.from(envelope.body, 'base64').toString())).toEqual([
      [2, 3],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
    expect(envelope.headers).toMatchObject({
      task: 'tasks.add',
      id: sent.id,
      argsrepr: '(2, 3)',
      retries: 0,
    });
    // Core level 0 (lowest) is kombu priority 9; level 2 is kombu 3: the lists Python would use.
    const low = JSON.parse((await redis.lrange(`${queue}${KOMBU_SEPARATOR}9`, 0, -1))[0]!);
    const mid = JSON.parse((await redis.lrange(`${queue}${KOMBU_SEPARATOR}3`, 0, -1))[0]!);
    expect(low.properties.priority).toBe(9);
    expect(mid.properties.priority).toBe(3);
  });

  it('runs a task that Python Celery pushed, byte for byte', async () => {
    const { transport, queue } = fresh();
    const redis = rawClient(DB);
    cleanups.push(async () => redis.disconnect());
    await redis.lpush(queue, PYTHON_ENVELOPE.replace('"routing_key": "celery"', `"routing_key": "${queue}"`));
    const results = new MemoryResultBackend();
    const add = defineTask({ name: 'app.add', handler: ([a, b]: [number, number]) => a + b });
    const worker = new Worker({ transport, tasks: [add], queues: [queue], results });
    await worker.start();
    cleanups.push(() => worker.stop());
    const client = new Client({ transport, results });
    await expect(
      client.result('d447abe7-5595-4c51-ab20-9a0a74f4ec3d').get({ timeout: 10_000 }),
    ).resolves.toBe(5);
  });

  it('tracks a taken message in the in-flight set until it is acked (no loss window)', async () => {
    const { transport, queue } = fresh();
    await transport.connect();
    await transport.publish(queue, decodeKombuEnvelope(PYTHON_ENVELOPE).message);
    const redis = rawClient(DB);
    cleanups.push(async () => redis.disconnect());
    const keys = queueKeys(queue, '', false);
    let settle: (() => Promise<void>) | undefined;
    await transport.consume(
      queue,
      (d) => {
        settle = () => d.ack();
      },
      { prefetch: 1 },
    );
    await expect.poll(() => settle !== undefined).toBe(true);
    // Taken: gone from the list, present in the in-flight set with its payload.
    expect(await redis.llen(queue)).toBe(0);
    expect(await redis.zcard(keys.inflight)).toBe(1);
    expect(await redis.hlen(keys.payload)).toBe(1);
    await settle!();
    expect(await redis.zcard(keys.inflight)).toBe(0);
    expect(await redis.hlen(keys.payload)).toBe(0);
    expect(await redis.hlen(keys.counts)).toBe(0);
  });
});

describe('batched script writes', () => {
  it('takes and acks batches larger than one script chunk (500) and leaves no bookkeeping', async () => {
    const { transport, queue } = fresh();
    const total = 1_300;
    const message = (n: number) => ({
      headers: { task: 't', id: `id-${n}` },
      properties: { content_type: 'application/json', content_encoding: 'utf-8' },
      body: Buffer.from(`[[${n}], {}, null]`),
    });
    await transport.declareQueue({ name: queue });
    await transport.publishBatch(
      queue,
      Array.from({ length: total }, (_, n) => ({ message: message(n) })),
    );
    const redis = rawClient(DB);
    cleanups.push(async () => redis.disconnect());
    const k = queueKeys(queue, '', false);
    // Prefetch above the backlog: one take hands out all 1,300 (ZADD/HSET in chunks of 500).
    const deliveries: Delivery[] = [];
    const all = new Promise<void>((resolve) => {
      void transport.consume(
        queue,
        async (delivery) => {
          deliveries.push(delivery);
          if (deliveries.length === total) resolve();
        },
        { prefetch: 2_000 },
      );
    });
    await all;
    expect(new Set(deliveries.map((d) => d.message?.headers.id)).size).toBe(total);
    expect(await redis.zcard(k.inflight)).toBe(total);
    expect(await redis.hlen(k.payload)).toBe(total);
    // One INCRBY per take: the sequence moved by exactly the number of messages taken.
    expect(Number(await redis.get(k.sequence))).toBe(total);
    // All acks in one turn: one settle call of 1,300 (its HDEL goes out in chunks of 500).
    await Promise.all(deliveries.map((d) => d.ack()));
    expect(await redis.zcard(k.inflight)).toBe(0);
    expect(await redis.hlen(k.payload)).toBe(0);
    expect(await redis.llen(queue)).toBe(0);
  });
});

describe('redelivery counts', () => {
  it('counts a nacked message up, then forgets the count once it is acked', async () => {
    const { transport, queue } = fresh();
    await transport.publish(queue, decodeKombuEnvelope(PYTHON_ENVELOPE).message);
    const redis = rawClient(DB);
    cleanups.push(async () => redis.disconnect());
    const keys = queueKeys(queue, '', false);
    const seen: Delivery[] = [];
    await transport.consume(
      queue,
      async (d) => {
        seen.push(d);
        if (seen.length === 1) await d.nack();
        else await d.ack();
      },
      { prefetch: 1 },
    );
    await expect.poll(() => seen.length).toBe(2);
    expect(seen.map((d) => d.deliveryCount)).toEqual([1, 2]);
    await expect.poll(() => redis.hlen(keys.counts)).toBe(0);
    expect(await redis.zcard(keys.countsAge)).toBe(0);
  });

  it('prunes a count whose message another consumer took (a Python worker), after the retention', async () => {
    const { transport, queue } = fresh();
    const redis = rawClient(DB);
    cleanups.push(async () => redis.disconnect());
    const keys = queueKeys(queue, '', false);
    await transport.publish(queue, decodeKombuEnvelope(PYTHON_ENVELOPE).message);
    let nacked = false;
    const stop = new AbortController();
    await transport.consume(
      queue,
      async (d) => {
        // Nack it once, then stop consuming: it is back in the list with a count of 1.
        stop.abort();
        if (!nacked) {
          nacked = true;
          await d.nack();
        }
      },
      { prefetch: 1, signal: stop.signal },
    );
    await expect.poll(() => nacked).toBe(true);
    await expect.poll(() => redis.hlen(keys.counts)).toBe(1);
    expect(await redis.llen(queue)).toBe(1);
    const [sha] = await redis.zrange(keys.countsAge, '0', '-1');
    expect(sha).toMatch(/^[0-9a-f]{40}$/);

    // A Python worker pops it (kombu's BRPOP): Conveyor never settles it, the count stays behind.
    await redis.rpop(queue);
    // Still young: the next take keeps it.
    const other = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
    cleanups.push(() => other.close());
    await other.publish(queue, decodeKombuEnvelope(PYTHON_ENVELOPE.replace('"(2, 3)"', '"(4, 5)"')).message);
    const taken: Delivery[] = [];
    await other.consume(
      queue,
      async (d) => {
        taken.push(d);
        await d.ack();
      },
      { prefetch: 1 },
    );
    await expect.poll(() => taken.length).toBe(1);
    expect(await redis.hlen(keys.counts)).toBe(1);

    // Older than the retention: the next take removes it, and the hash is empty again.
    await redis.zadd(keys.countsAge, String(Date.now() - REDELIVERY_COUNT_RETENTION_MS - 60_000), sha!);
    await other.publish(queue, decodeKombuEnvelope(PYTHON_ENVELOPE.replace('"(2, 3)"', '"(6, 7)"')).message);
    await expect.poll(() => taken.length).toBe(2);
    expect(await redis.hlen(keys.counts)).toBe(0);
    expect(await redis.zcard(keys.countsAge)).toBe(0);
  });
});
