import { randomUUID } from 'node:crypto';
import { AmqpTransport } from '@conveyor/amqp';
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { createClient as createCeleryClient, createWorker as createCeleryWorker } from 'celery-node';
import {
  type BrokerContender,
  Countdown,
  ENQUEUE_BATCH,
  inBatches,
  processTimeoutMs,
  versionOf,
} from './contenders.js';
import { conveyorContender } from './conveyor-contender.js';

/** Where a case runs: one RabbitMQ, one queue of its own (the suite deletes it after the case). */
export interface AmqpTarget {
  /** `amqp://user:password@host:port` (vhost `/`). */
  url: string;
  queue: string;
}

/** One library measured by the AMQP suite, at a consumer prefetch. */
export type AmqpContender = BrokerContender<
  'conveyor' | 'raw' | 'raw-celery-format' | 'celery-node',
  AmqpTarget
>;

/** Everything a case may have declared besides its queue (Conveyor's dead-letter queue and exchange). */
export function leftoversOf(queue: string): { queues: string[]; exchanges: string[] } {
  return { queues: [queue, `${queue}.dlq`], exchanges: [queue] };
}

// ---- @conveyor/amqp -------------------------------------------------------------------------------

const conveyor = conveyorContender<AmqpTarget>({
  name: '@conveyor/amqp',
  queue: (target) => target.queue,
  transport: (target) => new AmqpTransport({ url: target.url }),
  declareQueueOnOpen: true,
});

// ---- raw amqplib at the same durability (the ceiling) ---------------------------------------------

/** A connection with Nagle off, as @conveyor/amqp opens it. */
async function rawConnection(url: string): Promise<ChannelModel> {
  const connection = await amqplib.connect(url, { noDelay: true });
  connection.on('error', () => {}); // a failed operation rejects; the run reports that
  return connection;
}

/**
 * The least any at-least-once AMQP worker does: a durable queue, persistent messages published on
 * a confirm channel, and a consumer with basic.qos = prefetch that acks after the handler ran.
 * No envelope, no bookkeeping.
 */
function rawPair(
  target: AmqpTarget,
  prefetch: number,
  handler: (content: Buffer) => Promise<void>,
  onDone: () => void,
  onError: (error: unknown) => void,
): {
  open(): Promise<ConfirmChannel>;
  start(): Promise<void>;
  close(): Promise<void>;
} {
  let producer: ChannelModel | undefined;
  let consumer: ChannelModel | undefined;
  let channel: Channel | undefined;
  return {
    async open() {
      producer = await rawConnection(target.url);
      consumer = await rawConnection(target.url);
      const publisher = await producer.createConfirmChannel();
      publisher.on('error', onError);
      await publisher.assertQueue(target.queue, { durable: true });
      return publisher;
    },
    async start() {
      if (!consumer) throw new Error('raw amqplib: start before open');
      const ch = await consumer.createChannel();
      ch.on('error', onError);
      channel = ch;
      await ch.prefetch(prefetch);
      await ch.consume(
        target.queue,
        (msg) => {
          if (msg === null) return;
          handler(msg.content).then(
            () => {
              ch.ack(msg);
              onDone();
            },
            (error: unknown) => onError(error),
          );
        },
        { noAck: false },
      );
    },
    async close() {
      await channel?.close().catch(() => {});
      await Promise.allSettled([consumer?.close(), producer?.close()]);
    },
  };
}

const PERSISTENT = { persistent: true } as const;

/**
 * What a raw publish sends: a tiny body, or the same payload as a Celery protocol-2 message (the
 * headers table and body @conveyor/amqp and Celery send), to separate the cost of the wire format
 * (mostly the broker's, which parses and stores the headers) from the cost of the library.
 */
function rawMessage(celeryFormat: boolean, value: number): { content: Buffer; options: object } {
  if (!celeryFormat) return { content: Buffer.from(`{"i":${value}}`), options: PERSISTENT };
  const id = randomUUID();
  return {
    content: Buffer.from(
      JSON.stringify([[value], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    ),
    options: {
      ...PERSISTENT,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: id,
      headers: {
        lang: 'py',
        task: 'bench.noop',
        id,
        shadow: null,
        eta: null,
        expires: null,
        group: null,
        group_index: null,
        retries: 0,
        timelimit: [null, null],
        root_id: id,
        parent_id: null,
        argsrepr: `(${value},)`,
        kwargsrepr: '{}',
        origin: `gen${process.pid}@bench`,
        ignore_result: true,
      },
    },
  };
}

function rawPublish(ch: ConfirmChannel, queue: string, celeryFormat: boolean, value: number): Promise<void> {
  const { content, options } = rawMessage(celeryFormat, value);
  return new Promise<void>((resolve, reject) => {
    ch.publish('', queue, content, options, (error) =>
      error ? reject(new Error(`raw amqplib: publish not confirmed: ${String(error)}`)) : resolve(),
    );
  });
}

function rawContender(celeryFormat: boolean): AmqpContender {
  return {
    id: celeryFormat ? 'raw-celery-format' : 'raw',
    name: celeryFormat
      ? `raw amqplib ${versionOf('amqplib')}, Celery-format messages`
      : `raw amqplib ${versionOf('amqplib')} (anchor)`,
    throughput(target, tasks, prefetch) {
      const countdown = new Countdown(tasks, 'raw amqplib', processTimeoutMs(tasks));
      const pair = rawPair(
        target,
        prefetch,
        async () => {},
        () => countdown.tick(),
        (error) => countdown.fail(error),
      );
      let publisher: ConfirmChannel | undefined;
      return {
        async open() {
          publisher = await pair.open();
        },
        async enqueue() {
          const ch = publisher!;
          await inBatches(tasks, prefetch, (from, count) =>
            Promise.all(
              Array.from({ length: count }, (_, i) => rawPublish(ch, target.queue, celeryFormat, from + i)),
            ),
          );
        },
        async process() {
          countdown.arm();
          await pair.start();
          await countdown.finished;
        },
        close: () => pair.close(),
      };
    },
    pickup(target, prefetch, hooks) {
      const pair = rawPair(
        target,
        prefetch,
        async (content) => {
          const parsed = JSON.parse(content.toString()) as { i: number } | [[number]];
          hooks.started(Array.isArray(parsed) ? parsed[0][0] : parsed.i);
        },
        () => hooks.done(),
        () => {},
      );
      let publisher: ConfirmChannel | undefined;
      return {
        async start() {
          publisher = await pair.open();
          await pair.start();
        },
        send: (sentAt) => rawPublish(publisher!, target.queue, celeryFormat, sentAt),
        close: () => pair.close(),
      };
    },
  };
}

const raw = rawContender(false);
const rawCeleryFormat = rawContender(true);

// ---- celery-node ----------------------------------------------------------------------------------

/** The parts of celery-node's (untyped) AMQP broker the bench reaches into. */
interface CeleryAmqpBroker {
  channel: Promise<Channel>;
}

/** A result backend that stores nothing: celery-node requires one and calls it after every task. */
function nullBackend(onStored: () => void): object {
  return {
    isReady: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    storeResult: () => {
      onStored();
      return Promise.resolve();
    },
    getTaskMeta: () => Promise.resolve(null),
  };
}

/** celery-node logs two console.info lines per task; the bench silences them while it runs. */
function silenceConsoleInfo(): () => void {
  const info = console.info;
  console.info = () => {};
  return () => {
    console.info = info;
  };
}

/**
 * celery-node's client and worker on `target.queue`, with a result backend that stores nothing
 * (`onStored` runs after each task's handler). celery-node opens no connection before first use.
 */
function celeryPair(target: AmqpTarget, onStored: () => void) {
  // Its URL parser wants the vhost spelled out (`//` is vhost `/`).
  const url = `${target.url.replace(/\/+$/, '')}//`;
  const client = createCeleryClient(url, url, target.queue);
  const worker = createCeleryWorker(url, url, target.queue);
  // Nagle off, as for the others: with it on, each of the RPCs celery-node makes per sendTask
  // waits ~40 ms for a delayed ACK (45 messages/s here).
  client.conf.CELERY_BROKER_OPTIONS = { noDelay: true };
  worker.conf.CELERY_BROKER_OPTIONS = { noDelay: true };
  // `_backend` is private in celery-node's types; setting it first keeps the AMQP backend (one
  // result queue per task) from ever being created.
  (client as unknown as { _backend: object })._backend = nullBackend(() => {});
  (worker as unknown as { _backend: object })._backend = nullBackend(onStored);
  const workerChannel = (): Promise<Channel> => (worker.broker as unknown as CeleryAmqpBroker).channel;
  return { client, worker, workerChannel };
}

async function closeCelery(pair: ReturnType<typeof celeryPair>): Promise<void> {
  await Promise.allSettled([pair.worker.disconnect(), pair.client.disconnect()]);
}

const celery: AmqpContender = {
  id: 'celery-node',
  name: `celery-node ${versionOf('celery-node')}`,
  throughput(target, tasks, prefetch) {
    const countdown = new Countdown(tasks, 'celery-node', processTimeoutMs(tasks));
    const pair = celeryPair(target, () => countdown.tick());
    pair.worker.register('bench.noop', async () => undefined);
    let restore: (() => void) | undefined;
    let admin: ChannelModel | undefined;
    return {
      async open() {
        restore = silenceConsoleInfo();
        admin = await rawConnection(target.url);
        await Promise.all([pair.client.isReady(), pair.worker.isReady()]);
        // celery-node sets no basic.qos of its own; the bench sets the case's prefetch on its channel.
        await (await pair.workerChannel()).prefetch(prefetch);
      },
      async enqueue() {
        // sendTask returns before anything is written (no confirms): the enqueue is timed until
        // the broker holds all N messages.
        for (let from = 0; from < tasks; from += ENQUEUE_BATCH) {
          const count = Math.min(ENQUEUE_BATCH, tasks - from);
          for (let i = 0; i < count; i++) pair.client.sendTask('bench.noop', [from + i]);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const check = await admin!.createChannel();
        try {
          const deadline = performance.now() + processTimeoutMs(tasks);
          for (;;) {
            const { messageCount } = await check.checkQueue(target.queue);
            if (messageCount >= tasks) break;
            if (performance.now() > deadline)
              throw new Error(`celery-node: ${messageCount} of ${tasks} messages queued`);
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
        } finally {
          await check.close().catch(() => {});
        }
      },
      async process() {
        countdown.arm();
        void pair.worker.start();
        await countdown.finished;
      },
      async close() {
        await closeCelery(pair);
        await admin?.close().catch(() => {});
        restore?.();
      },
    };
  },
  pickup(target, prefetch, hooks) {
    const pair = celeryPair(target, () => hooks.done());
    pair.worker.register('bench.ping', (sentAt: number) => {
      hooks.started(sentAt);
    });
    let restore: (() => void) | undefined;
    return {
      async start() {
        restore = silenceConsoleInfo();
        await Promise.all([pair.client.isReady(), pair.worker.isReady()]);
        await (await pair.workerChannel()).prefetch(prefetch);
        await pair.worker.start();
      },
      async send(sentAt) {
        pair.client.sendTask('bench.ping', [sentAt]);
      },
      async close() {
        await closeCelery(pair);
        restore?.();
      },
    };
  },
};

/** Every contender, in table order: Conveyor first, then its anchors. */
export const AMQP_CONTENDERS: readonly AmqpContender[] = [conveyor, raw, rawCeleryFormat, celery];

/** Versions of the libraries measured, for the Markdown. */
export function amqpLibraryVersions(): string {
  return `amqplib ${versionOf('amqplib')} (Conveyor and the raw anchor), celery-node ${versionOf('celery-node')} (its own amqplib 0.8)`;
}
