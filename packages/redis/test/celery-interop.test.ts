import { Client, defineTask, PermanentTaskError, TaskFailedError, Worker } from '@conveyor/core';
import {
  type CeleryWorker,
  ensurePythonCelery,
  getResultFromPython,
  sendFromPython,
  startCeleryWorker,
} from '@conveyor/python-interop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisTransport } from '../src/index.js';

// Real Python Celery (current release, pinned in tooling/python) on the same Redis db.
const DB = 15;
const BROKER = `redis://127.0.0.1:6379/${DB}`;
const unique = (label: string): string => `interop-${label}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  await ensurePythonCelery();
}, 600_000);

describe('Conveyor sends, Python Celery runs, Conveyor reads the result', () => {
  const queue = unique('to-python');
  let celery: CeleryWorker;
  const transport = new RedisTransport(BROKER);
  const results = new RedisResultBackend(BROKER);
  const client = new Client({ transport, results, defaultQueue: queue });

  beforeAll(async () => {
    celery = await startCeleryWorker({ brokerUrl: BROKER, resultBackend: BROKER, queue });
  }, 120_000);
  afterAll(async () => {
    await celery?.stop();
    await transport.close();
    await results.close();
  });

  it('runs interop.add(2, 3) and Conveyor reads 5 from the Celery result backend', async () => {
    const handle = await client.send('interop.add', [2, 3]);
    await expect(handle.get({ timeout: 30_000 })).resolves.toBe(5);
  });

  it('passes kwargs and a priority through, and echoes them back', async () => {
    const handle = await client.send('interop.echo', ['a', 1], { kwargs: { k: 'v' }, priority: 2 });
    await expect(handle.get({ timeout: 30_000 })).resolves.toEqual({ args: ['a', 1], kwargs: { k: 'v' } });
  });

  it('reads a Python exception as TaskFailedError with exc_type, exc_message and exc_module', async () => {
    const handle = await client.send('interop.fail', []);
    const error = await handle.get({ timeout: 30_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).exception).toMatchObject({
      exc_type: 'ValueError',
      exc_message: ['boom', 42],
      exc_module: 'builtins',
    });
  });
});

describe('Python Celery sends, Conveyor runs, Python reads the result', () => {
  const queue = unique('from-python');
  const transport = new RedisTransport({ url: BROKER, pollIntervalMs: 50 });
  const results = new RedisResultBackend(BROKER);
  const add = defineTask({ name: 'interop.add', handler: ([a, b]: [number, number]) => a + b });
  const echo = defineTask({
    name: 'interop.echo',
    handler: (args: unknown[], ctx) => ({ args, kwargs: ctx.kwargs }),
  });
  const fail = defineTask({
    name: 'interop.fail',
    handler: () => {
      throw new PermanentTaskError('no way');
    },
  });
  const worker = new Worker({ transport, tasks: [add, echo, fail], queues: [queue], results });

  beforeAll(() => worker.start());
  afterAll(async () => {
    await worker.stop();
    await transport.close();
    await results.close();
  });

  it('runs a task sent by Python; Python reads SUCCESS and the value', async () => {
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: BROKER,
      queue,
      task: 'interop.add',
      args: [20, 22],
    });
    const result = await getResultFromPython({ resultBackend: BROKER, id: sent.id, timeoutSeconds: 30 });
    expect(result).toMatchObject({ status: 'SUCCESS', result: 42 });
  });

  it('gets Python kwargs and high-priority messages', async () => {
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: BROKER,
      queue,
      task: 'interop.echo',
      args: [1],
      kwargs: { who: 'python' },
      priority: 9,
      waitSeconds: 30,
    });
    expect(sent).toMatchObject({ status: 'SUCCESS', result: { args: [1], kwargs: { who: 'python' } } });
  });

  it('stores a Conveyor failure that Python reads as an exception', async () => {
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: BROKER,
      queue,
      task: 'interop.fail',
      waitSeconds: 30,
    });
    expect(sent.status).toBe('FAILURE');
    expect(sent.result).toMatchObject({ exc_type: 'PermanentTaskError' });
  });
});
