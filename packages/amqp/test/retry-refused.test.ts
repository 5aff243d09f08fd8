import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, DEAD_LETTER_REASON_HEADER, defineTask, Worker } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const BROKERS_SH = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
const rabbitmqctl = (...args: string[]) => promisify(execFile)('bash', [BROKERS_SH, 'rabbitmqctl', ...args]);

const queue = `retry-refused-${Math.random().toString(36).slice(2, 8)}`;
const policy = `conveyor-test-${queue}`;
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await rabbitmqctl('clear_policy', policy).catch(() => {});
  await rabbitHarness('cleanup').cleanup?.([queue, `${queue}.dlq`]);
});

/**
 * The hot loop of issue 10 on a real RabbitMQ that refuses the worker's retry: the queue is full
 * (a policy with max-length 1 and overflow reject-publish; a second message waits in it while the
 * first runs), so the broker nacks the re-publish. Before the fix the worker nacked the original at
 * once with the same retry count, forever (21,346 runs in 8 s). Now each failed retry is an attempt
 * and the message ends in the dead-letter queue with both errors.
 */
describe('a retry that RabbitMQ refuses', () => {
  it('counts as an attempt and ends in the dead-letter queue with both errors', async () => {
    await rabbitmqctl(
      'set_policy',
      policy,
      `^${queue}$`,
      '{"max-length":1,"overflow":"reject-publish"}',
      '--apply-to',
      'queues',
    );
    let runs = 0;
    let fillerSent!: () => void;
    const queueFull = new Promise<void>((resolve) => {
      fillerSent = resolve;
    });
    const failing = defineTask({
      name: 'refused.failing',
      queue,
      retry: { maxRetries: 2, initialDelayMs: 0, maxDelayMs: 0, jitter: 'none' },
      handler: async () => {
        runs += 1;
        await queueFull;
        throw new TypeError('boom');
      },
    });
    const filler = defineTask({ name: 'refused.filler', queue, handler: () => 'ok' });
    const transport = new AmqpTransport({ url: RABBIT_URL });
    const worker = new Worker({ transport, tasks: [failing, filler], concurrency: 1 });
    closers.push(
      () => transport.close(),
      () => worker.stop({ deadlineMs: 0 }),
    );
    await transport.connect();
    await transport.declareQueue({ name: queue });
    const client = new Client({ transport });

    const reasons: unknown[] = [];
    await transport.consume(
      `${queue}.dlq`,
      async (delivery) => {
        reasons.push([delivery.message?.headers.id, delivery.message?.headers[DEAD_LETTER_REASON_HEADER]]);
        await delivery.ack();
      },
      { prefetch: 5 },
    );
    await worker.start();
    const id = (await client.send(failing, [])).id;
    await expect.poll(() => runs).toBe(1);
    await client.send(filler, []); // waits, ready, while the first one runs: the queue is full
    fillerSent();
    await expect.poll(() => reasons.length, { timeout: 20_000 }).toBe(1);
    expect(reasons[0]).toEqual([
      id,
      expect.stringMatching(
        /^retry could not be published \(gave up after 3 attempts\): BrokerError: .*; task error: TypeError: boom$/,
      ),
    ]);
    expect(runs).toBe(3); // the first run and maxRetries more, not thousands
  }, 40_000);
});
