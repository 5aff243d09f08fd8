import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Delivery, defineTask, type Transport, Worker } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appWithBrokers, type BrokerPackage, lines, runBin, sendWithCli, transportInApp } from './helpers.js';

/**
 * What `conveyor send` puts on a real broker, as a consumer sees it: args, kwargs and the queue
 * reach a core Worker under the printed id; a countdown is not delivered before it is due and
 * carries its eta; priorities come out highest first. The countdown and priority checks consume
 * with the bare transport, because a Worker would hide a missing broker-side delay (it re-delays a
 * message whose eta header lies ahead) and runs tasks concurrently.
 */
interface BrokerCase {
  name: string;
  pkg: BrokerPackage;
  /** For `conveyor send` and for this file's consumers. */
  url: string;
  /** Priority levels to send, in sending order (every level of the transport, shuffled). */
  levels: number[];
  /** The level a consumer reads back for a level sent (undefined: reads as "no priority"). */
  readsBack(level: number): number | undefined;
}

const BROKERS: BrokerCase[] = [
  {
    name: 'redis',
    pkg: 'redis',
    // Database 5 of the local Redis is this file's; every test uses queues of its own besides.
    url: 'redis://127.0.0.1:6379/5?pollIntervalMs=50',
    levels: [1, 3, 0, 2],
    // Four kombu lists; the first is also where Celery's default (no priority) goes, so the
    // highest level reads back as unset: the same list, consumed first either way.
    readsBack: (level) => (level === 3 ? undefined : level),
  },
  {
    name: 'rabbitmq',
    pkg: 'amqp',
    // Celery's usual task_queue_max_priority of 10 (x-max-priority 9).
    url: 'amqp://guest:guest@127.0.0.1:5672?priorityLevels=10',
    levels: [4, 0, 9, 1, 7],
    readsBack: (level) => level,
  },
];

const app = appWithBrokers();
const RUN = randomUUID().slice(0, 8);
const queues: string[] = [];
/** A queue of this run, removed from both brokers at the end. */
function freshQueue(): string {
  const queue = `cli-send-${RUN}-${queues.length}`;
  queues.push(queue);
  return queue;
}

afterAll(async () => {
  // The transports cannot delete a queue: the clients they are built on, from the same install, can.
  const inApp = createRequire(join(app, 'node_modules', '@conveyor', 'redis', 'package.json'));
  const { Redis } = (await import(inApp.resolve('ioredis'))) as {
    Redis: new (
      url: string,
    ) => {
      keys(pattern: string): Promise<string[]>;
      del(...keys: string[]): Promise<number>;
      quit(): Promise<unknown>;
    };
  };
  const redis = new Redis('redis://127.0.0.1:6379/5');
  const keys = await redis.keys(`cli-send-${RUN}-*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  const amqplib = (await import(
    createRequire(join(app, 'node_modules', '@conveyor', 'amqp', 'package.json')).resolve('amqplib')
  )) as {
    connect(url: string): Promise<{
      createChannel(): Promise<{ deleteQueue(queue: string): Promise<unknown> }>;
      close(): Promise<void>;
    }>;
  };
  const connection = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createChannel();
  for (const queue of queues) await channel.deleteQueue(queue);
  await connection.close();
  await rm(app, { recursive: true, force: true });
});

/** Consumes `queue` with the bare transport, one message at a time, acking each. */
async function consumeRaw(
  transport: Transport,
  queue: string,
  signal: AbortSignal,
): Promise<{ delivery: Delivery; at: number }[]> {
  const seen: { delivery: Delivery; at: number }[] = [];
  await transport.consume(
    queue,
    async (delivery) => {
      seen.push({ delivery, at: Date.now() });
      await delivery.ack();
    },
    { prefetch: 1, signal },
  );
  return seen;
}

describe.each(BROKERS)('conveyor send on $name', (broker) => {
  const consumers = new AbortController();
  let transport: Transport;

  beforeAll(async () => {
    transport = await transportInApp(app, broker.pkg, broker.url);
    await transport.connect();
  });
  afterAll(async () => {
    consumers.abort();
    await transport?.close();
  });

  it('--args, --kwargs and --queue reach a Worker consuming that queue, under the printed id', async () => {
    const queue = freshQueue();
    const runs: { id: string; args: unknown[]; kwargs: unknown }[] = [];
    const echo = defineTask({
      name: 'cli.echo',
      handler: (args: unknown[], ctx) => {
        runs.push({ id: ctx.id, args, kwargs: { ...ctx.kwargs } });
      },
    });
    const worker = new Worker({ transport, tasks: [echo], queues: [queue] });
    await worker.start();
    try {
      const args = [1, 'two', { three: [3] }, null, true, 1.5, -7, 'é ✓ 😀', []];
      const kwargs = { k: null, n: 1.5, nested: { list: [1, { a: 'b' }] }, text: 'a "quoted" word' };
      const full = await sendWithCli(
        [
          'cli.echo',
          '-b',
          broker.url,
          '--queue',
          queue,
          '--args',
          JSON.stringify(args),
          '--kwargs',
          JSON.stringify(kwargs),
        ],
        app,
      );
      // Neither given: args [] and kwargs {}, as Celery sends them.
      const bare = await sendWithCli(['cli.echo', '-b', broker.url, '-q', queue], app);
      await expect.poll(() => runs.length, { timeout: 20_000 }).toBe(2);
      expect(runs).toEqual(
        expect.arrayContaining([
          { id: full.id, args, kwargs },
          { id: bare.id, args: [], kwargs: {} },
        ]),
      );
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('--countdown: the eta header is the send time plus the countdown; no Worker runs it earlier', async () => {
    const countdownMs = 2500;
    const rawQueue = freshQueue();
    await transport.declareQueue({ name: rawQueue });
    const seen = await consumeRaw(transport, rawQueue, consumers.signal);
    const workerQueue = freshQueue();
    const ranAt: number[] = [];
    const worker = new Worker({
      transport,
      tasks: [defineTask({ name: 'cli.echo', handler: () => void ranAt.push(Date.now()) })],
      queues: [workerQueue],
    });
    await worker.start();
    try {
      const countdown = ['--countdown', String(countdownMs)];
      const [raw, run] = await Promise.all([
        sendWithCli(['cli.echo', '-b', broker.url, '-q', rawQueue, ...countdown], app),
        sendWithCli(['cli.echo', '-b', broker.url, '-q', workerQueue, ...countdown], app),
      ]);

      // The bare transport: the message and its eta, which the CLI computed while it ran, so the
      // process's own lifetime brackets it however slow the machine is.
      await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(1);
      const [{ delivery, at }] = seen as [{ delivery: Delivery; at: number }];
      expect(delivery.message?.headers.id).toBe(raw.id);
      const eta = delivery.message?.headers.eta;
      expect(typeof eta).toBe('string');
      const etaMs = Date.parse(eta as string);
      expect(etaMs).toBeGreaterThanOrEqual(raw.startedAt + countdownMs);
      expect(etaMs).toBeLessThanOrEqual(raw.endedAt + countdownMs);
      // Where the broker's delay is its own (RabbitMQ), the client lets the broker hold the message
      // until due; where it is emulated (Redis), it sends Celery's way, the eta header alone, so that
      // Python workers honour it too, and only the consumer holds it.
      if (transport.capabilities.delay.mode !== 'emulated') {
        expect(at).toBeGreaterThanOrEqual(etaMs - transport.capabilities.delay.precisionMs);
      }
      expect(at - raw.endedAt).toBeLessThan(countdownMs + 20_000);

      // A Worker runs it no earlier than the countdown after the send began, and does run it (a
      // gross upper bound only).
      await expect.poll(() => ranAt.length, { timeout: 30_000 }).toBe(1);
      const [ran] = ranAt as [number];
      expect(ran).toBeGreaterThanOrEqual(
        run.startedAt + countdownMs - transport.capabilities.delay.precisionMs,
      );
      expect(ran - run.endedAt).toBeLessThan(countdownMs + 20_000);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('--priority: the messages come out highest first, each with its level', async () => {
    const queue = freshQueue();
    await transport.declareQueue({ name: queue });
    // All sent before anyone consumes, so the broker orders them.
    const levelOf = new Map<string, number>();
    for (const level of broker.levels) {
      const sent = await sendWithCli(
        ['cli.echo', '-b', broker.url, '-q', queue, '--priority', String(level)],
        app,
      );
      levelOf.set(sent.id, level);
    }
    const seen = await consumeRaw(transport, queue, consumers.signal);
    await expect.poll(() => seen.length, { timeout: 20_000 }).toBe(broker.levels.length);
    const order = seen.map(({ delivery }) => levelOf.get(String(delivery.message?.headers.id)));
    expect(order).toEqual([...broker.levels].sort((a, b) => b - a));
    for (const { delivery } of seen) {
      const level = levelOf.get(String(delivery.message?.headers.id)) ?? -1;
      expect(delivery.message?.properties.priority, `level ${level}`).toBe(broker.readsBack(level));
    }
  }, 60_000);
});

describe('conveyor send: priority levels in a RabbitMQ URL', () => {
  it('a bad ?priorityLevels is a usage error naming it (exit 2), before anything is sent', async () => {
    const result = await runBin(
      ['send', 'cli.echo', '-b', 'amqp://guest:guest@127.0.0.1:5672?priorityLevels=ten', '--priority', '1'],
      { cwd: app },
    );
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'conveyor: invalid option "priorityLevels": must be 0 (none) or an integer from 2 to 256',
    ]);
    expect(result.stdout).toBe('');
  });
});
