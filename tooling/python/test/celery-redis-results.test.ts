// CeleryRedisResults, the Redis result store of the SQS and Kafka interop tests, against a real
// Redis: the key, value and expiry Celery uses, Celery's SUCCESS-is-final rule, waiting, and Redis
// errors reaching the caller. Skipped without Redis, failed instead when CI is set.

import { randomUUID } from 'node:crypto';
import { type ResultMeta, ResultTimeoutError } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CeleryRedisResults } from '../src/celery-redis-results.js';
import { parseRespReply } from '../src/resp-connection.js';
import { redisCommand, redisOrSkip } from './redis.js';

const redis = await redisOrSkip('CeleryRedisResults');
// Any db works (every key has a fresh task id); 1 is this folder's result db (celery-redis.test.ts).
const url = `${redis.ok ? redis.url : ''}/1`;

function meta(taskId: string, status: ResultMeta['status'], result: unknown): ResultMeta {
  return { task_id: taskId, status, result, traceback: null, children: [], date_done: null };
}

describe.skipIf(!redis.ok)('CeleryRedisResults', () => {
  const results = new CeleryRedisResults(url);
  const taskIds: string[] = [];
  const newId = () => {
    const id = randomUUID();
    taskIds.push(id);
    return id;
  };

  afterAll(async () => {
    await results.close();
    if (taskIds.length > 0)
      await redisCommand(url, ['DEL', ...taskIds.map((id) => `celery-task-meta-${id}`)]);
  });

  it("stores under Celery's key, as JSON, expiring in a day, and reads it back", async () => {
    const id = newId();
    const stored = meta(id, 'SUCCESS', { sum: 5, text: 'é ✓' });
    await results.store(stored);
    expect(await results.get(id)).toEqual(stored);
    const [raw] = await redisCommand(url, ['GET', `celery-task-meta-${id}`]);
    expect(JSON.parse(raw ?? 'null')).toEqual(stored);
    const [ttl] = await redisCommand(url, ['TTL', `celery-task-meta-${id}`]);
    expect(Number(ttl)).toBeGreaterThan(86_000);
    expect(Number(ttl)).toBeLessThanOrEqual(86_400);
  });

  it('answers null for a task with no result', async () => {
    expect(await results.get(newId())).toBeNull();
  });

  it('keeps a stored SUCCESS (Celery: it is final), but lets other states be replaced', async () => {
    const id = newId();
    await results.store(meta(id, 'STARTED', null));
    await results.store(meta(id, 'SUCCESS', 1));
    await results.store(meta(id, 'FAILURE', { exc_type: 'ValueError' }));
    expect(await results.get(id)).toMatchObject({ status: 'SUCCESS', result: 1 });
  });

  it('waitFor returns a ready result written by another connection, and times out on a pending one', async () => {
    const id = newId();
    const writer = new CeleryRedisResults(url);
    await writer.store(meta(id, 'STARTED', null));
    const waiting = results.waitFor(id, { timeoutMs: 30_000 });
    await writer.store(meta(id, 'FAILURE', { exc_type: 'ValueError', exc_message: ['boom'] }));
    await writer.close();
    await expect(waiting).resolves.toMatchObject({ status: 'FAILURE' });

    const pending = newId();
    await results.store(meta(pending, 'STARTED', null));
    await expect(results.waitFor(pending, { timeoutMs: 100 })).rejects.toBeInstanceOf(ResultTimeoutError);
  });

  it("rejects with Redis's error (here: a db that does not exist)", async () => {
    const wrongDb = new CeleryRedisResults(`${redis.ok ? redis.url : ''}/100000`);
    await expect(wrongDb.get(newId())).rejects.toThrow(/^Redis: ERR/);
    await wrongDb.close();
  });

  it('rejects when nothing listens at the address', async () => {
    const nobody = new CeleryRedisResults('redis://127.0.0.1:1/0');
    await expect(nobody.get(newId())).rejects.toThrow(/ECONNREFUSED/);
    await nobody.close();
  });
});

describe('parseRespReply', () => {
  it('decodes nested arrays, integers, nil and multi-byte bulk strings', () => {
    const text = '*4\r\n$4\r\nh\u00e9!\r\n:42\r\n$-1\r\n*1\r\n+OK\r\n';
    const buffer = Buffer.from(text);
    expect(parseRespReply(buffer, 0)).toEqual({ value: ['hé!', 42, null, ['OK']], end: buffer.length });
  });

  it('waits for the rest of a reply split across chunks', () => {
    const whole = Buffer.from('*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n');
    for (let cut = 1; cut < whole.length; cut += 1) {
      expect(parseRespReply(whole.subarray(0, cut), 0)).toBeUndefined();
    }
  });

  it('returns an error reply as error, not as a value', () => {
    expect(parseRespReply(Buffer.from('-ERR wrong\r\n'), 0)).toEqual({
      value: null,
      error: 'ERR wrong',
      end: 12,
    });
  });
});
