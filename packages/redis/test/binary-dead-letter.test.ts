import { randomBytes } from 'node:crypto';
import { DEAD_LETTER_REASON_HEADER, defineTask, RAW_CONTENT_TYPE, Worker } from '@conveyor/core';
import { decodeKombuEnvelope } from '@conveyor/core/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisTransport } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

// A db of its own (nack-order.test.ts shares it with queue names of its own; nothing empties it).
const DB = 4;
const queue = `binary-${Math.random().toString(36).slice(2, 8)}`;
const deadLetterQueue = `${queue}.dlq`;
const redis = rawClient(DB);

afterAll(async () => {
  for (const name of [queue, deadLetterQueue]) {
    const k = queueKeys(name, '', false);
    await redis.del(...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence);
  }
  redis.disconnect();
});

describe('Redis: random binary pushed straight into a queue', () => {
  it('reaches the dead-letter queue byte for byte (no U+FFFD from reading it as text)', async () => {
    // Random bytes are almost never valid UTF-8; the 0xff makes sure of it.
    const garbage = Buffer.concat([Buffer.from([0xff, 0xfe]), randomBytes(1022)]);
    expect(garbage.byteLength).toBe(1024);
    await redis.lpush(queueKeys(queue, '', false).ready[0], garbage);

    const transport = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
    const never = defineTask({ name: 'binary.never', handler: () => undefined });
    const worker = new Worker({ transport, tasks: [never], queues: [queue] });
    const reasons: string[] = [];
    worker.on('rejected', (event) => reasons.push(event.reason));
    await worker.start();
    try {
      await expect.poll(() => redis.llen(deadLetterQueue), { timeout: 10_000, interval: 20 }).toBe(1);
    } finally {
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
    }

    const [stored] = await redis.lrangeBuffer(deadLetterQueue, 0, -1);
    const letter = decodeKombuEnvelope(stored!).message;
    expect(letter.properties.content_type).toBe(RAW_CONTENT_TYPE);
    expect(String(letter.headers[DEAD_LETTER_REASON_HEADER])).toMatch(/malformed|not JSON/i);
    expect(letter.body.byteLength).toBe(1024);
    expect(Buffer.from(letter.body).equals(garbage)).toBe(true);
    expect(reasons).toHaveLength(1);
    expect(await redis.llen(queue)).toBe(0);
  }, 30_000);
});
