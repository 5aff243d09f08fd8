import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { probeMessage } from '@conveyor/conformance';
import {
  BrokerError,
  Client,
  defineTask,
  listDeadLetters,
  PermanentTaskError,
  redriveDeadLetters,
  Worker,
} from '@conveyor/core';
import { RedisResultBackend } from '@conveyor/redis';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport, type AmqpTransportOptions } from '../src/index.js';
import { RABBIT, RABBIT_URL } from './amqp-harness.js';

// The RabbitMQ users the README's "Least privilege" section shows, created for this file only
// (unique names, deleted afterwards) with the repo's rabbitmqctl.
const suffix = randomBytes(4).toString('hex');
const queue = `lp-${suffix}`;
const WORKER = { name: `conveyor-lp-worker-${suffix}`, password: `w-${randomBytes(12).toString('hex')}` };
const PRODUCER = { name: `conveyor-lp-producer-${suffix}`, password: `p-${randomBytes(12).toString('hex')}` };
const OPERATOR = { name: `conveyor-lp-operator-${suffix}`, password: `o-${randomBytes(12).toString('hex')}` };
const PRIORITY_LEVELS = 4;

const regexLiteral = (name: string): string => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** configure, write, read: what a worker of `q` needs (its queue, DLQ and the delay ladder). */
function workerPermissions(q: string): [string, string, string] {
  const name = regexLiteral(q);
  return [
    `^(${name}|${name}\\.dlq|conveyor\\.delayed\\..*)$`,
    `^(${name}|amq\\.default|conveyor\\.delayed\\..*)$`,
    `^(${name}|conveyor\\.delayed\\..*)$`,
  ];
}

/** configure, write, read: an operator of `q`'s dead letters (conveyor dlq): the worker's, and read on the DLQ. */
function operatorPermissions(q: string): [string, string, string] {
  const name = regexLiteral(q);
  return [
    `^(${name}|${name}\\.dlq|conveyor\\.delayed\\..*)$`,
    `^(${name}|${name}\\.dlq|amq\\.default|conveyor\\.delayed\\..*)$`,
    `^(${name}|${name}\\.dlq|conveyor\\.delayed\\..*)$`,
  ];
}

/** configure, write, read: a producer with `declare: false` only publishes. */
const PRODUCER_PERMISSIONS: [string, string, string] = [
  '^$',
  '^(amq\\.default|conveyor\\.delayed\\.27)$',
  '^$',
];

const brokers = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
async function rabbitmqctl(...args: string[]): Promise<void> {
  await promisify(execFile)('bash', [brokers, 'rabbitmqctl', ...args], { timeout: 60_000 });
}

beforeAll(async () => {
  for (const [user, permissions] of [
    [WORKER, workerPermissions(queue)],
    [PRODUCER, PRODUCER_PERMISSIONS],
    [OPERATOR, operatorPermissions(queue)],
  ] as const) {
    await rabbitmqctl('add_user', user.name, user.password);
    await rabbitmqctl('set_permissions', '-p', '/', user.name, ...permissions);
  }
}, 60_000);

afterAll(async () => {
  await rabbitmqctl('delete_user', WORKER.name).catch(() => {});
  await rabbitmqctl('delete_user', PRODUCER.name).catch(() => {});
  await rabbitmqctl('delete_user', OPERATOR.name).catch(() => {});
  const connection = await amqplib.connect(RABBIT_URL);
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  await channel.deleteQueue(queue).catch(() => {});
  await channel.deleteQueue(`${queue}.dlq`).catch(() => {});
  await channel.deleteExchange(queue).catch(() => {});
  await connection.close();
}, 60_000);

function transportAs(
  user: { name: string; password: string },
  extra: AmqpTransportOptions = {},
  query = '',
): AmqpTransport {
  return new AmqpTransport({
    url: `amqp://${user.name}:${user.password}@${RABBIT.host}:${RABBIT.port}${query}`,
    priorityLevels: PRIORITY_LEVELS,
    connectTimeoutMs: 5000,
    publishTimeoutMs: 5000,
    ...extra,
  });
}

/** Messages waiting in `name`, read as guest. */
async function depth(name: string): Promise<number> {
  const connection = await amqplib.connect(RABBIT_URL);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(name)).messageCount;
  } finally {
    await connection.close();
  }
}

const add = defineTask({
  name: 'lp.add',
  queue,
  retry: { maxRetries: 0 },
  handler: ([a, b]: [number, number]) => a + b,
});
let flakyCalls = 0;
const flaky = defineTask({
  name: 'lp.flaky',
  queue,
  retry: { maxRetries: 1, initialDelayMs: 100, jitter: 'none' },
  handler: () => {
    flakyCalls += 1;
    if (flakyCalls < 2) throw new Error('not yet');
    return 'second time';
  },
});
const refuse = defineTask({
  name: 'lp.refuse',
  queue,
  handler: () => {
    throw new PermanentTaskError('never valid');
  },
});

describe('RabbitMQ least privilege: a worker user and a producer user', () => {
  it('a producer that declares nothing is told when the queue does not exist yet', async () => {
    const producer = transportAs(PRODUCER, { declare: false });
    try {
      const error = await new Client({ transport: producer }).send(add, [1, 2]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect(String((error as Error).message)).toContain(`queue "${queue}" does not exist`);
    } finally {
      await producer.close();
    }
  });

  it('the producer cannot declare, so it needs declare: false', async () => {
    const producer = transportAs(PRODUCER);
    try {
      const error = await producer.declareQueue({ name: queue }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect(String((error as Error).message)).toMatch(/ACCESS.REFUSED/);
      expect((error as BrokerError).retryable).toBe(false);
    } finally {
      await producer.close();
    }
  });

  it('the worker runs what the producer sends (plain, prioritised, delayed), retries and dead-letters', async () => {
    const transport = transportAs(WORKER);
    const results = new RedisResultBackend('redis://127.0.0.1:6379/10');
    const worker = new Worker({ transport, tasks: [add, flaky, refuse], results, concurrency: 4 });
    const rejected: string[] = [];
    const errors: unknown[] = [];
    worker.on('rejected', (e) => rejected.push(e.reason));
    worker.on('error', (e) => errors.push(e.error));
    const producer = transportAs(PRODUCER, { declare: false });
    const client = new Client({ transport: producer, results });
    await worker.start();
    try {
      const handles = [
        await client.send(add, [1, 1]),
        await client.send(add, [2, 2], { priority: PRIORITY_LEVELS - 1 }),
        // Through the delay ladder, bound to the queue by the worker's consume.
        await client.send(add, [3, 3], { countdownMs: 1000 }),
      ];
      expect(await Promise.all(handles.map((h) => h.get({ timeout: 15_000 })))).toEqual([2, 4, 6]);
      // The retry goes through the ladder as the worker's user.
      expect(await (await client.send(flaky, [])).get({ timeout: 15_000 })).toBe('second time');
      await client.send(refuse, []);
      await expect.poll(() => rejected.length, { timeout: 10_000 }).toBe(1);
      await expect.poll(() => depth(`${queue}.dlq`), { timeout: 10_000 }).toBe(1);
      expect(errors).toEqual([]);
      expect((await producer.health()).ok).toBe(true);
    } finally {
      await worker.stop();
      await Promise.all([transport.close(), producer.close(), results.close()]);
    }
  }, 60_000);

  it('the worker settles every way: delayed nack (ladder), nack (a counted copy), ack', async () => {
    const transport = transportAs(WORKER);
    const counts: number[] = [];
    const errors: unknown[] = [];
    const controller = new AbortController();
    try {
      await transport.declareQueue({ name: queue });
      await transport.publish(queue, probeMessage(`settle-${suffix}`));
      await transport.consume(
        queue,
        async (delivery) => {
          counts.push(delivery.deliveryCount);
          if (counts.length === 1) await delivery.nack({ delayMs: 1000 });
          else if (counts.length === 2) await delivery.nack();
          else await delivery.ack();
        },
        { prefetch: 1, signal: controller.signal, onError: (e) => errors.push(e) },
      );
      await expect.poll(() => counts.length, { timeout: 15_000 }).toBe(3);
      expect(counts).toEqual([1, 2, 3]);
      expect(errors).toEqual([]);
    } finally {
      controller.abort();
      await transport.close();
    }
  }, 30_000);

  it('the producer cannot consume: ACCESS_REFUSED as a BrokerError, and no retry loop', async () => {
    // declare=false in the URL, as `conveyor send --broker` passes it.
    const producer = transportAs(PRODUCER, {}, '?declare=false');
    expect(producer.options.declare).toBe(false);
    await new Client({ transport: producer }).send(add, [5, 5]);
    const received: unknown[] = [];
    const onError: unknown[] = [];
    try {
      const error = await producer
        .consume(queue, async (d) => void received.push(d), {
          prefetch: 1,
          onError: (e) => onError.push(e),
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect(String((error as Error).message)).toMatch(/ACCESS.REFUSED/);
      expect((error as BrokerError).retryable).toBe(false);
      // A refused consumer does not reopen its channel and ask again.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(onError.length).toBeLessThanOrEqual(1);
      expect(received).toEqual([]);
      expect(await depth(queue)).toBe(1);
    } finally {
      await producer.close();
    }
  }, 30_000);

  it('an operator reads and redrives the dead letters (conveyor dlq) with read on the DLQ added', async () => {
    const operator = transportAs(OPERATOR);
    try {
      const listing = await listDeadLetters(operator, { queue, idleMs: 500 });
      expect(listing.letters.map((l) => l.task)).toEqual(['lp.refuse']);
      const report = await redriveDeadLetters(operator, { queue, idleMs: 500 });
      expect(report.moved).toBe(1);
      await expect.poll(() => depth(queue)).toBe(2);
      expect(await depth(`${queue}.dlq`)).toBe(0);
    } finally {
      await operator.close();
    }
  }, 60_000);
});
