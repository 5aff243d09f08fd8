import { RedisTransport } from '@conveyor/redis';
import BeeQueue from 'bee-queue';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { type BrokerContender, Countdown, inBatches, processTimeoutMs, versionOf } from './contenders.js';
import { conveyorContender } from './conveyor-contender.js';

/** Where every contender runs: one Redis server, one database (flushed between runs by the suite). */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
}

/** Queue name every contender uses (each library puts its own prefix around it). */
const QUEUE = 'bench';

/** One library measured by the Redis suite, at a worker concurrency. */
export type Contender = BrokerContender<'conveyor' | 'raw' | 'bullmq' | 'bee-queue', RedisTarget>;

// ---- @conveyor/redis ------------------------------------------------------------------------------

const conveyor = conveyorContender<RedisTarget>({
  name: '@conveyor/redis',
  queue: () => QUEUE,
  transport: (target) => new RedisTransport({ host: target.host, port: target.port, db: target.db }),
});

// ---- raw ioredis reliable loop (the at-least-once ceiling) ----------------------------------------

const RAW_READY = 'raw:bench:ready';
const RAW_PROCESSING = 'raw:bench:processing';

function rawConnection(target: RedisTarget): Redis {
  const redis = new Redis({ host: target.host, port: target.port, db: target.db, lazyConnect: true });
  redis.on('error', () => {}); // a failed command rejects; the run reports that
  return redis;
}

/**
 * `concurrency` loops, each on its own connection (BLMOVE blocks it): BLMOVE ready -> processing
 * (timeout 1 s), run the no-op handler, LREM the item from processing. What any at-least-once
 * Redis list queue must do at least, with nothing else: no envelope, no bookkeeping.
 */
function rawLoops(
  target: RedisTarget,
  concurrency: number,
  handler: (item: string) => Promise<void>,
  onDone: () => void,
  onError: (error: unknown) => void,
): { connect(): Promise<void>; start(): void; close(): Promise<void> } {
  const connections = Array.from({ length: concurrency }, () => rawConnection(target));
  let stopped = false;
  const loops: Promise<void>[] = [];
  const loop = async (redis: Redis): Promise<void> => {
    while (!stopped) {
      let item: string | null;
      try {
        item = await redis.blmove(RAW_READY, RAW_PROCESSING, 'RIGHT', 'LEFT', 1);
      } catch (error) {
        if (!stopped) onError(error);
        return;
      }
      if (item === null) continue;
      try {
        await handler(item);
        await redis.lrem(RAW_PROCESSING, 1, item);
      } catch (error) {
        if (!stopped) onError(error);
        return;
      }
      onDone();
    }
  };
  return {
    async connect() {
      await Promise.all(connections.map((c) => c.connect()));
    },
    start() {
      for (const redis of connections) loops.push(loop(redis));
    },
    async close() {
      stopped = true;
      // Every loop is blocked in BLMOVE (or about to be): disconnecting ends it at once.
      for (const redis of connections) redis.disconnect();
      await Promise.allSettled(loops);
    },
  };
}

const raw: Contender = {
  id: 'raw',
  name: 'raw ioredis BLMOVE/LREM loop (anchor)',
  throughput(target, tasks, concurrency) {
    const producer = rawConnection(target);
    const countdown = new Countdown(tasks, 'raw loop', processTimeoutMs(tasks));
    const loops = rawLoops(
      target,
      concurrency,
      async () => {},
      () => countdown.tick(),
      (error) => countdown.fail(error),
    );
    return {
      async open() {
        await Promise.all([producer.connect(), loops.connect()]);
      },
      async enqueue() {
        await inBatches(tasks, concurrency, (from, count) =>
          producer.lpush(RAW_READY, ...Array.from({ length: count }, (_, i) => `{"i":${from + i}}`)),
        );
      },
      async process() {
        countdown.arm();
        loops.start();
        await countdown.finished;
      },
      async close() {
        await loops.close();
        producer.disconnect();
      },
    };
  },
  pickup(target, concurrency, hooks) {
    const producer = rawConnection(target);
    const loops = rawLoops(
      target,
      concurrency,
      async (item) => hooks.started(Number(item.slice(item.indexOf(':') + 1))),
      () => hooks.done(),
      () => {},
    );
    let sequence = 0;
    return {
      async start() {
        await Promise.all([producer.connect(), loops.connect()]);
        loops.start();
      },
      async send(sentAt) {
        // Unique items, so that LREM removes exactly the one taken.
        await producer.lpush(RAW_READY, `${sequence++}:${sentAt}`);
      },
      async close() {
        await loops.close();
        producer.disconnect();
      },
    };
  },
};

// ---- BullMQ ---------------------------------------------------------------------------------------

const REMOVE = { removeOnComplete: true, removeOnFail: true } as const;

const bullmq: Contender = {
  id: 'bullmq',
  name: `BullMQ ${versionOf('bullmq')}`,
  throughput(target, tasks, concurrency) {
    const connection = { host: target.host, port: target.port, db: target.db };
    const queue = new BullQueue(QUEUE, { connection });
    const countdown = new Countdown(tasks, 'BullMQ', processTimeoutMs(tasks));
    const worker = new BullWorker(QUEUE, async () => undefined, { connection, concurrency, autorun: false });
    worker.on('completed', () => countdown.tick());
    worker.on('failed', (_job, error) => countdown.fail(error));
    worker.on('error', (error) => countdown.fail(error));
    return {
      async open() {
        await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
      },
      async enqueue() {
        await inBatches(tasks, concurrency, (from, count) =>
          queue.addBulk(
            Array.from({ length: count }, (_, i) => ({ name: 'noop', data: { i: from + i }, opts: REMOVE })),
          ),
        );
      },
      async process() {
        countdown.arm();
        void worker.run().catch((error: unknown) => countdown.fail(error));
        await countdown.finished;
      },
      async close() {
        await worker.close();
        await queue.close();
      },
    };
  },
  pickup(target, concurrency, hooks) {
    const connection = { host: target.host, port: target.port, db: target.db };
    const queue = new BullQueue(QUEUE, { connection });
    const worker = new BullWorker<{ sentAt: number }>(
      QUEUE,
      async (job) => {
        hooks.started(job.data.sentAt);
      },
      { connection, concurrency, autorun: false },
    );
    worker.on('completed', () => hooks.done());
    return {
      async start() {
        await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
        void worker.run().catch(() => {});
      },
      async send(sentAt) {
        await queue.add('ping', { sentAt }, REMOVE);
      },
      async close() {
        await worker.close();
        await queue.close();
      },
    };
  },
};

// ---- bee-queue ------------------------------------------------------------------------------------

/**
 * bee-queue's documented fast path: a producer queue that is no worker and a worker queue, neither
 * publishing nor subscribing to job events (nobody listens to them here, as with the others).
 */
function beeQueues(target: RedisTarget): { producer: BeeQueue; worker: BeeQueue } {
  const redis = { host: target.host, port: target.port, db: target.db };
  const quiet = { redis, getEvents: false, sendEvents: false, storeJobs: false };
  return {
    producer: new BeeQueue(QUEUE, { ...quiet, isWorker: false }),
    worker: new BeeQueue(QUEUE, { ...quiet, isWorker: true, removeOnSuccess: true, removeOnFailure: true }),
  };
}

const beeQueue: Contender = {
  id: 'bee-queue',
  name: `bee-queue ${versionOf('bee-queue')}`,
  throughput(target, tasks, concurrency) {
    const { producer, worker } = beeQueues(target);
    const countdown = new Countdown(tasks, 'bee-queue', processTimeoutMs(tasks));
    worker.on('succeeded', () => countdown.tick());
    worker.on('failed', (_job, error) => countdown.fail(error));
    worker.on('error', (error) => countdown.fail(error));
    return {
      async open() {
        await Promise.all([producer.ready(), worker.ready()]);
      },
      async enqueue() {
        await inBatches(tasks, concurrency, async (from, count) => {
          const errors = await producer.saveAll(
            Array.from({ length: count }, (_, i) => producer.createJob({ i: from + i })),
          );
          if (errors.size > 0) throw [...errors.values()][0];
        });
      },
      async process() {
        countdown.arm();
        worker.process(concurrency, async () => undefined);
        await countdown.finished;
      },
      async close() {
        await Promise.allSettled([worker.close(1000), producer.close(1000)]);
      },
    };
  },
  pickup(target, concurrency, hooks) {
    const { producer, worker } = beeQueues(target);
    worker.on('succeeded', () => hooks.done());
    return {
      async start() {
        await Promise.all([producer.ready(), worker.ready()]);
        worker.process(concurrency, async (job: BeeQueue.Job<{ sentAt: number }>) => {
          hooks.started(job.data.sentAt);
        });
      },
      async send(sentAt) {
        await producer.createJob({ sentAt }).save();
      },
      async close() {
        await Promise.allSettled([worker.close(1000), producer.close(1000)]);
      },
    };
  },
};

/** Every contender, in table order: Conveyor first, then its anchors. */
export const CONTENDERS: readonly Contender[] = [conveyor, raw, bullmq, beeQueue];

/** Versions of the libraries measured, for the Markdown. */
export function libraryVersions(): string {
  return `bullmq ${versionOf('bullmq')}, bee-queue ${versionOf('bee-queue')}, ioredis ${versionOf('ioredis')}`;
}
