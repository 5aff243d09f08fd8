// First: @conveyor/amqp must load before amqplib to read py-amqp's 64-bit `L` headers.
import '../src/index.js';
import { defineTask } from '@conveyor/core';
import {
  CELERY_INTEROP_CASES,
  type CeleryToConveyorCase,
  describeCeleryInterop,
  INTEROP_RESULT_TIMEOUT_MS,
  missingInteropPrerequisites,
  skipCeleryInterop,
} from '@conveyor/python-interop/vitest';
import { RedisResultBackend } from '@conveyor/redis';
import amqplib from 'amqplib';
import { expect } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

// Real Python Celery (tooling/python) on the same RabbitMQ; results in Celery's Redis backend.
// Celery's AMQP URL names the vhost `/` explicitly, hence the extra slash.
const BROKER = `${RABBIT_URL}//`;
const RESULTS = 'redis://127.0.0.1:6379/15';

const header = defineTask({
  name: 'interop.header',
  handler: (_args: unknown[], ctx) => [ctx.headers.big, ctx.headers.negative],
});

/** AMQP only: py-amqp writes integers beyond 32 bits as table values of type `L`. */
const readsPyAmqpInt64Headers: CeleryToConveyorCase = {
  direction: 'celery-to-conveyor',
  id: 'celery-to-conveyor.amqp-int64-headers',
  title: "reads py-amqp's 64-bit integer headers (tag L, which amqplib alone cannot parse)",
  tasks: [header],
  async run({ send }) {
    // Without the decoder in src/int64-header-decoding.ts this message fails the consumer's whole
    // connection, is redelivered to the next one, fails it again, and the task never runs.
    const sent = await send({
      task: 'interop.header',
      headers: { big: 2 ** 40, negative: -(2 ** 35) },
      waitSeconds: INTEROP_RESULT_TIMEOUT_MS / 1000,
    });
    expect(sent).toMatchObject({ status: 'SUCCESS', result: [2 ** 40, -(2 ** 35)] });
  },
};

const unavailable = await missingInteropPrerequisites({
  broker: `RabbitMQ at ${RABBIT_URL.replace(/:[^:@/]*@/, ':***@')}`,
  probeBroker: async () => {
    const connection = await amqplib.connect(RABBIT_URL, { timeout: 5000 });
    await connection.close();
  },
  redisResultsUrl: RESULTS,
});
if (unavailable) {
  // Under CI a skip would hide a broken set-up: there the file fails.
  skipCeleryInterop('AMQP', unavailable);
} else {
  describeCeleryInterop({
    name: 'AMQP',
    createTransport: () => new AmqpTransport(RABBIT_URL),
    brokerUrl: BROKER,
    resultBackendUrl: RESULTS,
    createResultBackend: () => new RedisResultBackend(RESULTS),
    queuePrefix: 'amqp-interop',
    cleanup: async (queues) => {
      await rabbitHarness('cleanup').cleanup?.(queues);
    },
    cases: [...CELERY_INTEROP_CASES, readsPyAmqpInt64Headers],
  });
}
