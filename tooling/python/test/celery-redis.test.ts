// Self-test of the harness with Python alone: the Python client sends, the Python worker runs, the
// Python client reads the result back. Needs a real Redis (see ./redis.ts): skipped without one, but
// failed instead when CI is set.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CeleryWorker,
  ensurePythonCelery,
  getResultFromPython,
  sendFromPython,
  startCeleryWorker,
} from '../src/index.js';
import { redisCommand, redisOrSkip } from './redis.js';

const redis = await redisOrSkip('Python Celery over Redis');

const ISO_AWARE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

describe.skipIf(!redis.ok)('Python Celery over Redis (harness self-test)', () => {
  const base = redis.ok ? redis.url : '';
  const brokerUrl = `${base}/0`;
  const resultBackend = `${base}/1`;
  const queue = `interop-selftest-${process.pid}-${Date.now()}`;
  const conn = { brokerUrl, resultBackend, queue };
  let worker: CeleryWorker | undefined;
  const taskIds: string[] = [];

  beforeAll(async () => {
    const t0 = performance.now();
    const python = await ensurePythonCelery();
    console.log(`setup.sh: ${Math.round(performance.now() - t0)} ms -> ${python}`);
    worker = await startCeleryWorker(conn);
    console.log(`Celery worker ready in ${worker.startupMs} ms (pid ${worker.pid}, queue ${queue})`);
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    // Leave nothing behind: the queue's lists and binding sets (db 0) and the results (db 1).
    const sep = '\x06\x16';
    await redisCommand(brokerUrl, [
      'DEL',
      queue,
      ...['3', '6', '9'].map((p) => `${queue}${sep}${p}`),
      `_kombu.binding.${queue}`,
      `_kombu.binding_permanent.${queue}`,
    ]);
    if (taskIds.length > 0)
      await redisCommand(resultBackend, ['DEL', ...taskIds.map((id) => `celery-task-meta-${id}`)]);
  });

  const send = async (options: Omit<Parameters<typeof sendFromPython>[0], keyof typeof conn>) => {
    const sent = await sendFromPython({ ...conn, ...options });
    taskIds.push(sent.id);
    return sent;
  };

  it('interop.add(2, 3): Python sends, the Python worker runs it, get_result reads SUCCESS 5', async () => {
    const sent = await send({ task: 'interop.add', args: [2, 3] });
    expect(sent.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.status).toBeUndefined();

    const res = await getResultFromPython({ resultBackend, id: sent.id, timeoutSeconds: 15, raw: true });
    expect(res.status).toBe('SUCCESS');
    expect(res.result).toBe(5);
    // The stored document, verbatim (Celery 5.5+: aware date_done).
    expect(Object.keys(res.meta ?? {})).toEqual([
      'status',
      'result',
      'traceback',
      'children',
      'date_done',
      'task_id',
    ]);
    expect(res.meta).toMatchObject({
      status: 'SUCCESS',
      result: 5,
      traceback: null,
      children: [],
      task_id: sent.id,
    });
    expect(res.meta?.date_done).toMatch(ISO_AWARE);
    expect(worker?.logs()).toContain(`Task interop.add[${sent.id}] succeeded`);
  });

  it('interop.fail: FAILURE with the ValueError type, args and module', async () => {
    const sent = await send({ task: 'interop.fail' });
    const res = await getResultFromPython({ resultBackend, id: sent.id, timeoutSeconds: 15, raw: true });
    expect(res.status).toBe('FAILURE');
    expect(res.result).toEqual({
      exc_type: 'ValueError',
      exc_message: ['boom', 42],
      exc_module: 'builtins',
      repr: "ValueError('boom', 42)",
    });
    expect(res.traceback).toContain("ValueError: ('boom', 42)");
    expect(res.meta?.result).toEqual({
      exc_type: 'ValueError',
      exc_message: ['boom', 42],
      exc_module: 'builtins',
    });
    expect(res.meta?.date_done).toMatch(ISO_AWARE);
  });

  it('send.py --wait returns the result; interop.echo returns its args and kwargs', async () => {
    const sent = await send({
      task: 'interop.echo',
      args: [1, 'two', { three: [3] }],
      kwargs: { k: null, n: 1.5 },
      waitSeconds: 15,
    });
    expect(sent.status).toBe('SUCCESS');
    expect(sent.result).toEqual({ args: [1, 'two', { three: [3] }], kwargs: { k: null, n: 1.5 } });

    const failed = await send({ task: 'interop.fail', waitSeconds: 15 });
    expect(failed.status).toBe('FAILURE');
    expect(failed.result).toMatchObject({ exc_type: 'ValueError', exc_message: ['boom', 42] });
  });

  it('a countdown holds the task back until it is due; a priority message and sleep run', async () => {
    const countdownMs = 3000;
    // The venv set-up is done (beforeAll), so the window opens at the send, not before a shared lock.
    const before = Date.now();
    const sent = await send({
      task: 'interop.add',
      args: [1, 1],
      countdown: countdownMs / 1000,
      priority: 6,
    });
    // Just after the send, well inside the countdown: a worker that ignored it would have stored the
    // result within milliseconds of the publish.
    expect(await redisCommand(resultBackend, ['EXISTS', `celery-task-meta-${sent.id}`])).toEqual(['0']);
    const res = await getResultFromPython({ resultBackend, id: sent.id, timeoutSeconds: 15, raw: true });
    expect(res).toMatchObject({ status: 'SUCCESS', result: 2 });
    // It ran no earlier than the countdown after the send began: a bound the send's own duration
    // only loosens (100 ms for the worker's timer resolution).
    const doneAt = Date.parse(String(res.meta?.date_done));
    expect(doneAt).toBeGreaterThanOrEqual(before + countdownMs - 100);

    const slept = await send({ task: 'interop.sleep', args: [0.2], waitSeconds: 15 });
    expect(slept).toMatchObject({ status: 'SUCCESS', result: 0.2 });
  });

  it('a result that never arrives times out as PENDING instead of throwing', async () => {
    const res = await getResultFromPython({
      resultBackend,
      id: '00000000-0000-4000-8000-000000000000',
      timeoutSeconds: 0.5,
    });
    expect(res).toMatchObject({ status: 'PENDING', result: null, timeout: true });
  });

  it('stop() shuts the worker down warmly', async () => {
    const w = worker;
    expect(w).toBeDefined();
    await w?.stop();
    expect(await w?.exited).toBe(0);
    expect(w?.logs()).toMatch(/Warm shutdown/);
    worker = undefined;
  });
});

describe.skipIf(!redis.ok)('startCeleryWorker failure reporting', () => {
  it('rejects with the log tail when "ready." does not come in time', async () => {
    // Nothing listens on port 1: the worker keeps retrying the broker and never gets ready.
    const start = startCeleryWorker({
      brokerUrl: 'redis://127.0.0.1:1/0',
      queue: 'never',
      readyTimeoutMs: 3000,
    });
    await expect(start).rejects.toThrow(/Timed out after 3000 ms[\s\S]*celery/i);
  }, 30_000);
});
