import { Client, defineTask, formatCeleryDate, Worker } from '@conveyor/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisTransport, toPythonJson } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

const DB = 13;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function backend(): RedisResultBackend {
  const results = new RedisResultBackend({ ...REDIS, db: DB, resultExpiresSeconds: 600 });
  cleanups.push(() => results.close());
  return results;
}

const id = (): string => `rb-${Math.random().toString(36).slice(2, 10)}`;

describe('RedisResultBackend', () => {
  it('writes what Celery writes: the key, Python JSON with task_id last, an expiry, and a PUBLISH', async () => {
    const results = backend();
    const taskId = id();
    const redis = rawClient(DB);
    const listener = rawClient(DB);
    cleanups.push(async () => {
      redis.disconnect();
      listener.disconnect();
    });
    const published = new Promise<string>((resolve) =>
      listener.on('message', (_c: string, m: string) => resolve(m)),
    );
    await listener.subscribe(`celery-task-meta-${taskId}`);
    const date = formatCeleryDate(new Date('2026-11-24T02:11:58.916Z'));
    await results.store({
      status: 'SUCCESS',
      result: 5,
      traceback: null,
      children: [],
      date_done: date,
      task_id: taskId,
    });
    const stored = await redis.get(`celery-task-meta-${taskId}`);
    expect(stored).toBe(
      `{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "${date}", "task_id": "${taskId}"}`,
    );
    expect(await published).toBe(stored);
    const ttl = await redis.ttl(`celery-task-meta-${taskId}`);
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('never overwrites a stored SUCCESS', async () => {
    const results = backend();
    const taskId = id();
    const base = { traceback: null, children: [], date_done: null, task_id: taskId };
    await results.store({ ...base, status: 'SUCCESS', result: 'first' });
    await results.store({
      ...base,
      status: 'FAILURE',
      result: { exc_type: 'X', exc_message: [], exc_module: 'builtins' },
    });
    expect((await results.get(taskId))?.result).toBe('first');
  });

  it('wakes a waiter through the subscription, and finds a result stored before it waited', async () => {
    const results = backend();
    const early = id();
    const base = { traceback: null, children: [], date_done: null };
    await results.store({ ...base, status: 'SUCCESS', result: 1, task_id: early });
    await expect(results.waitFor(early, { timeoutMs: 5000 })).resolves.toMatchObject({ result: 1 });
    const late = id();
    const waiting = results.waitFor(late, { timeoutMs: 5000 });
    await results.store({ ...base, status: 'STARTED', result: null, task_id: late });
    await results.store({ ...base, status: 'SUCCESS', result: 2, task_id: late });
    await expect(waiting).resolves.toMatchObject({ status: 'SUCCESS', result: 2 });
    await expect(results.waitFor(id(), { timeoutMs: 100 })).rejects.toMatchObject({ code: 'RESULT_TIMEOUT' });
  });

  it('carries a worker result end to end, with a FAILURE as Celery stores it', async () => {
    const transport = new RedisTransport({ ...REDIS, db: DB, pollIntervalMs: 50 });
    const results = backend();
    const queue = `rb-${id()}`;
    const add = defineTask({ name: 'rb.add', handler: ([a, b]: [number, number]) => a + b });
    const fail = defineTask({
      name: 'rb.fail',
      retry: { maxRetries: 0 },
      handler: () => {
        throw new TypeError('bad input');
      },
    });
    const worker = new Worker({ transport, tasks: [add, fail], queues: [queue], results });
    await worker.start();
    cleanups.push(async () => {
      await worker.stop();
      await transport.close();
    });
    const client = new Client({ transport, results, defaultQueue: queue });
    await expect((await client.send(add, [2, 3])).get({ timeout: 10_000 })).resolves.toBe(5);
    const failed = await client.send(fail, []);
    await expect(failed.get({ timeout: 10_000 })).rejects.toMatchObject({
      exception: { exc_type: 'TypeError', exc_message: ['bad input'], exc_module: 'builtins' },
    });
  });
});

describe('toPythonJson', () => {
  it('matches json.dumps: separators and ASCII escapes', () => {
    expect(toPythonJson({ a: [1, 'é', null, true], b: { c: 1.5 } })).toBe(
      '{"a": [1, "\\u00e9", null, true], "b": {"c": 1.5}}',
    );
  });
});
