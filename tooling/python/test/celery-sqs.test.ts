// Self-test of the harness over SQS with Python alone: the Python client sends through kombu's SQS
// transport to ElasticMQ, the Python worker runs the task, the result goes to Redis (Celery has no SQS
// result backend). Skipped without ElasticMQ or Redis, but failed instead when CI is set.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CeleryWorker, getResultFromPython, sendFromPython, startCeleryWorker } from '../src/index.js';
import { redisCommand, redisOrSkip } from './redis.js';
import { celerySqsUrl, deleteQueues, sqsOrSkip } from './sqs.js';

const sqs = await sqsOrSkip('Python Celery over SQS');
const redis = await redisOrSkip('Python Celery over SQS (Redis result backend)');
const ready = sqs.ok && redis.ok;

// Redis db 2: the SQS tests' result backend, which no other suite writes.
const resultBackend = `${redis.ok ? redis.url : ''}/2`;
const brokerUrl = celerySqsUrl();
// A 1 s long poll instead of kombu's 10 s, so that a warm stop does not wait out a long poll.
const transportOptions = { region: 'elasticmq', wait_time_seconds: 1 };
const prefix = `interop-selftest-sqs-${process.pid}-${Date.now()}`;

for (const kind of ['standard', 'FIFO'] as const) {
  describe.skipIf(!ready)(`Python Celery over an SQS ${kind} queue (harness self-test)`, () => {
    const queue = `${prefix}-${kind.toLowerCase()}${kind === 'FIFO' ? '.fifo' : ''}`;
    const conn = { brokerUrl, resultBackend, queue, transportOptions };
    let worker: CeleryWorker | undefined;
    const taskIds: string[] = [];

    beforeAll(async () => {
      worker = await startCeleryWorker(conn);
    }, 180_000);

    afterAll(async () => {
      await worker?.stop();
      await deleteQueues(queue.replace('.fifo', ''));
      if (taskIds.length > 0)
        await redisCommand(resultBackend, ['DEL', ...taskIds.map((id) => `celery-task-meta-${id}`)]);
    });

    it('interop.add and interop.fail: Python reads SUCCESS 5 and the ValueError', async () => {
      const sent = await sendFromPython({ ...conn, task: 'interop.add', args: [2, 3], waitSeconds: 20 });
      taskIds.push(sent.id);
      expect(sent).toMatchObject({ status: 'SUCCESS', result: 5 });
      const failed = await sendFromPython({ ...conn, task: 'interop.fail', waitSeconds: 20 });
      taskIds.push(failed.id);
      expect(failed.result).toMatchObject({ exc_type: 'ValueError', exc_message: ['boom', 42] });
      expect(worker?.logs()).toContain(`Task interop.add[${sent.id}] succeeded`);
    }, 60_000);

    it('a countdown runs no earlier than due (the worker holds the message; SQS does not delay it)', async () => {
      const countdownMs = 2000;
      const before = Date.now();
      const sent = await sendFromPython({
        ...conn,
        task: 'interop.add',
        args: [1, 1],
        countdown: countdownMs / 1000,
      });
      taskIds.push(sent.id);
      const res = await getResultFromPython({ resultBackend, id: sent.id, timeoutSeconds: 20, raw: true });
      expect(res).toMatchObject({ status: 'SUCCESS', result: 2 });
      expect(Date.parse(String(res.meta?.date_done))).toBeGreaterThanOrEqual(before + countdownMs - 100);
    }, 60_000);

    it('stops warmly within a long poll', async () => {
      const started = performance.now();
      await worker?.stop();
      expect(await worker?.exited).toBe(0);
      console.log(
        `SQS ${kind}: Celery worker ready in ${worker?.startupMs} ms, warm stop ${Math.round(performance.now() - started)} ms`,
      );
      worker = undefined;
    }, 30_000);
  });
}
