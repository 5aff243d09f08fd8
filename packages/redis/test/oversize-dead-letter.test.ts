import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
  defineTask,
  type WireMessage,
  Worker,
  type WorkerEvents,
} from '@conveyor/core';
import { decodeKombuEnvelope, encodeKombuEnvelope, encodeTaskMessage } from '@conveyor/core/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisTransport } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

// Its own db and queue names: nothing else in the suite reads or empties them.
const DB = 6;
const VISIBILITY_MS = 1000;
const MiB = 1024 * 1024;
const queue = `oversize-${Math.random().toString(36).slice(2, 8)}`;
const deadLetterQueue = `${queue}.dlq`;
const redis = rawClient(DB);

afterAll(async () => {
  for (const name of [queue, deadLetterQueue]) {
    const k = queueKeys(name, '', false);
    await redis.del(...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence);
  }
  redis.disconnect();
});

/** Dead letters as Redis holds them, oldest first (LPUSH puts the newest at the head). */
async function storedLetters(): Promise<WireMessage[]> {
  const raws = await redis.lrangeBuffer(deadLetterQueue, 0, -1);
  return raws.reverse().map((raw) => decodeKombuEnvelope(raw).message);
}

describe('Redis: a message whose dead letter would be above maxMessageBytes', () => {
  it('is dead-lettered once, truncated with a marker, and never comes back', async () => {
    const transport = new RedisTransport({
      ...REDIS,
      db: DB,
      visibilityTimeoutMs: VISIBILITY_MS,
      pollIntervalMs: 50,
    });
    const limit = transport.capabilities.maxMessageBytes;
    expect(limit).toBe(4 * MiB);
    let ran = 0;
    const big = defineTask({ name: 'tasks.big', handler: () => (ran += 1) });
    const worker = new Worker({ transport, tasks: [big], queues: [queue] });
    const events: { type: keyof WorkerEvents; payload: unknown }[] = [];
    for (const type of ['rejected', 'error', 'started'] as const) {
      worker.on(type, (payload) => events.push({ type, payload }));
    }

    // Another producer (a script, an old client) ignored the limit: a valid 5 MB task...
    const fiveMiB = encodeTaskMessage({ id: 'five-mib', task: 'tasks.big', args: ['x'.repeat(5 * MiB)] });
    const envelope = encodeKombuEnvelope(fiveMiB, { exchange: '', routing_key: queue }, 'tag-5mib');
    // ...and 3 MB of bytes that are not an envelope, which grow when read as text (each 0xff
    // becomes a 3-byte U+FFFD), to 9 MB, above the limit, unless the transport keeps them as bytes.
    const garbage = Buffer.alloc(3 * 1000 * 1000, 0xff);
    const ready = queueKeys(queue, '', false).ready[0];
    await redis.lpush(ready, Buffer.from(envelope));
    await redis.lpush(ready, garbage);

    await worker.start();
    try {
      await expect.poll(() => redis.llen(deadLetterQueue), { timeout: 20_000, interval: 50 }).toBe(2);
      // Two visibility timeouts later: nothing came back, nothing more was dead-lettered.
      await new Promise((resolve) => setTimeout(resolve, 2 * VISIBILITY_MS + 500));
      expect(await redis.llen(deadLetterQueue)).toBe(2);
      expect(await transport.queueDepth(queue)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
      expect(events.filter((e) => e.type === 'rejected')).toHaveLength(2);
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
      expect(ran).toBe(0);
    } finally {
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
    }

    const [first, second] = await storedLetters();
    const bigLetter = first!.headers.id === 'five-mib' ? first! : second!;
    const garbageLetter = bigLetter === first ? second! : first!;

    const original = fiveMiB.body.byteLength;
    expect(bigLetter.headers).toMatchObject({
      task: 'tasks.big',
      id: 'five-mib',
      [DEAD_LETTER_SOURCE_HEADER]: queue,
      [DEAD_LETTER_TRUNCATED_HEADER]: original,
    });
    const kept = bigLetter.body.byteLength;
    expect(kept).toBeLessThanOrEqual(limit);
    expect(kept).toBeGreaterThan(limit - 64 * 1024);
    expect(String(bigLetter.headers[DEAD_LETTER_REASON_HEADER])).toBe(
      `malformed message: body of ${original} bytes is above this transport's limit of ${limit} bytes (capabilities.maxMessageBytes); payload truncated from ${original} to ${kept} bytes`,
    );
    expect(Buffer.from(bigLetter.body).equals(Buffer.from(fiveMiB.body.subarray(0, kept)))).toBe(true);

    expect(String(garbageLetter.headers[DEAD_LETTER_REASON_HEADER])).toMatch(/^malformed message: /);
    const cutFrom = garbageLetter.headers[DEAD_LETTER_TRUNCATED_HEADER];
    if (cutFrom === undefined) {
      // A transport that keeps undecodable bytes as bytes stores all 3 MB unchanged.
      expect(Buffer.from(garbageLetter.body).equals(garbage)).toBe(true);
    } else {
      expect(garbageLetter.body.byteLength).toBeLessThanOrEqual(limit);
      expect(String(garbageLetter.headers[DEAD_LETTER_REASON_HEADER])).toMatch(
        new RegExp(`; payload truncated from ${String(cutFrom)} to ${garbageLetter.body.byteLength} bytes$`),
      );
    }
  }, 60_000);
});
