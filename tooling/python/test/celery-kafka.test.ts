// Self-test of the harness over Kafka with Python alone: the Python client sends through kombu's
// confluentkafka transport, the Python worker runs the task, the result goes to Redis (Celery has no
// Kafka result backend). Skipped without Kafka or Redis, but failed instead when CI is set.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CeleryWorker, getResultFromPython, sendFromPython, startCeleryWorker } from '../src/index.js';
import { celeryKafkaUrl, deleteKafkaTopics, kafkaOrSkip } from './kafka.js';
import { redisCommand, redisOrSkip } from './redis.js';

const kafka = await kafkaOrSkip('Python Celery over Kafka');
const redis = await redisOrSkip('Python Celery over Kafka (Redis result backend)');
const ready = kafka.ok && redis.ok;

// Redis db 9: the Kafka tests' result backend, which no other suite writes.
const resultBackend = `${redis.ok ? redis.url : ''}/9`;
const brokerUrl = celeryKafkaUrl();
// A 1 s poll instead of kombu's 5 s (wait_time_seconds).
const transportOptions = { wait_time_seconds: 1 };
const queue = `interop-selftest-kafka-${process.pid}-${Date.now()}`;

describe.skipIf(!ready)('Python Celery over Kafka (harness self-test)', () => {
  const conn = { brokerUrl, resultBackend, queue, transportOptions };
  let worker: CeleryWorker | undefined;
  const taskIds: string[] = [];

  beforeAll(async () => {
    worker = await startCeleryWorker(conn);
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await deleteKafkaTopics([queue], [`${queue}-consumer-group`]);
    if (taskIds.length > 0)
      await redisCommand(resultBackend, ['DEL', ...taskIds.map((id) => `celery-task-meta-${id}`)]);
  });

  it('interop.add and interop.fail: Python reads SUCCESS 5 and the ValueError', async () => {
    const sent = await sendFromPython({ ...conn, task: 'interop.add', args: [2, 3], waitSeconds: 30 });
    taskIds.push(sent.id);
    expect(sent).toMatchObject({ status: 'SUCCESS', result: 5 });
    const failed = await sendFromPython({ ...conn, task: 'interop.fail', waitSeconds: 30 });
    taskIds.push(failed.id);
    expect(failed.result).toMatchObject({ exc_type: 'ValueError', exc_message: ['boom', 42] });
    expect(worker?.logs()).toContain(`Task interop.add[${sent.id}] succeeded`);
  }, 90_000);

  it('a countdown runs no earlier than due (the worker holds the record; Kafka does not delay it)', async () => {
    const countdownMs = 2000;
    const before = Date.now();
    const sent = await sendFromPython({
      ...conn,
      task: 'interop.add',
      args: [1, 1],
      countdown: countdownMs / 1000,
    });
    taskIds.push(sent.id);
    const res = await getResultFromPython({ resultBackend, id: sent.id, timeoutSeconds: 30, raw: true });
    expect(res).toMatchObject({ status: 'SUCCESS', result: 2 });
    expect(Date.parse(String(res.meta?.date_done))).toBeGreaterThanOrEqual(before + countdownMs - 100);
  }, 90_000);

  it('stops warmly', async () => {
    const started = performance.now();
    await worker?.stop();
    expect(await worker?.exited).toBe(0);
    console.log(
      `Kafka: Celery worker ready in ${worker?.startupMs} ms, warm stop ${Math.round(performance.now() - started)} ms`,
    );
    worker = undefined;
  }, 30_000);
});
