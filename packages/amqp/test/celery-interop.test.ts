import { Client, defineTask, PermanentTaskError, TaskFailedError, Worker } from '@conveyor/core';
import {
  type CeleryWorker,
  ensurePythonCelery,
  getResultFromPython,
  sendFromPython,
  startCeleryWorker,
} from '@conveyor/python-interop';
import { RedisResultBackend } from '@conveyor/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

// Real Python Celery (tooling/python) on the same RabbitMQ; results in Celery's Redis backend.
const BROKER = `${RABBIT_URL}//`;
const RESULTS = 'redis://127.0.0.1:6379/15';
const unique = (label: string): string => `amqp-interop-${label}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  await ensurePythonCelery();
}, 600_000);

describe('Conveyor sends over AMQP, Python Celery runs, Conveyor reads the result', () => {
  const queue = unique('to-python');
  let celery: CeleryWorker;
  const transport = new AmqpTransport(RABBIT_URL);
  const results = new RedisResultBackend(RESULTS);
  const client = new Client({ transport, results, defaultQueue: queue });

  beforeAll(async () => {
    // Conveyor declares first, exactly as Celery would: the Python worker's declaration must agree.
    await transport.connect();
    await transport.declareQueue({ name: queue });
    celery = await startCeleryWorker({ brokerUrl: BROKER, resultBackend: RESULTS, queue });
  }, 120_000);
  afterAll(async () => {
    await celery?.stop();
    await transport.close();
    await results.close();
    await rabbitHarness('cleanup').cleanup?.([queue]);
  });

  it('runs interop.add(2, 3) and Conveyor reads 5', async () => {
    await expect((await client.send('interop.add', [2, 3])).get({ timeout: 30_000 })).resolves.toBe(5);
  });

  it('carries kwargs and integer headers py-amqp reads correctly (retries, timelimit over 127)', async () => {
    const handle = await client.send('interop.echo', ['x', 300], {
      kwargs: { big: 70_000 },
      timeLimit: { hardMs: 300_000 },
    });
    await expect(handle.get({ timeout: 30_000 })).resolves.toEqual({
      args: ['x', 300],
      kwargs: { big: 70_000 },
    });
  });

  it('reads a Python exception as TaskFailedError', async () => {
    const error = await (await client.send('interop.fail', []))
      .get({ timeout: 30_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).exception).toMatchObject({
      exc_type: 'ValueError',
      exc_message: ['boom', 42],
    });
  });
});

describe('Python Celery sends over AMQP, Conveyor runs, Python reads the result', () => {
  const queue = unique('from-python');
  const transport = new AmqpTransport(RABBIT_URL);
  const results = new RedisResultBackend(RESULTS);
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
  const header = defineTask({
    name: 'interop.header',
    handler: (_args: unknown[], ctx) => [ctx.headers.big, ctx.headers.negative],
  });
  const worker = new Worker({ transport, tasks: [add, echo, fail, header], queues: [queue], results });

  beforeAll(() => worker.start());
  afterAll(async () => {
    await worker.stop();
    await transport.close();
    await results.close();
    await rabbitHarness('cleanup').cleanup?.([queue]);
  });

  it('runs a task Python sent; Python reads SUCCESS', async () => {
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: RESULTS,
      queue,
      task: 'interop.add',
      args: [40, 2],
    });
    await expect(
      getResultFromPython({ resultBackend: RESULTS, id: sent.id, timeoutSeconds: 30 }),
    ).resolves.toMatchObject({
      status: 'SUCCESS',
      result: 42,
    });
  });

  it('gets Python kwargs', async () => {
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: RESULTS,
      queue,
      task: 'interop.echo',
      args: [1],
      kwargs: { who: 'python' },
      waitSeconds: 30,
    });
    expect(sent).toMatchObject({ status: 'SUCCESS', result: { args: [1], kwargs: { who: 'python' } } });
  });

  it("reads py-amqp's 64-bit integer headers (tag L, which amqplib alone cannot parse)", async () => {
    // Without the decoder in src/int64-header-decoding.ts this message fails the consumer's whole
    // connection, is redelivered to the next one, fails it again, and the task never runs.
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: RESULTS,
      queue,
      task: 'interop.header',
      headers: { big: 2 ** 40, negative: -(2 ** 35) },
      waitSeconds: 30,
    });
    expect(sent).toMatchObject({ status: 'SUCCESS', result: [2 ** 40, -(2 ** 35)] });
  });

  it('stores a Conveyor failure Python reads as an exception', async () => {
    const sent = await sendFromPython({
      brokerUrl: BROKER,
      resultBackend: RESULTS,
      queue,
      task: 'interop.fail',
      waitSeconds: 30,
    });
    expect(sent.status).toBe('FAILURE');
  });
});
