import { createRequire } from 'node:module';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SqsTransport } from '@conveyor/sqs';
import { Consumer } from 'sqs-consumer';
import { type BrokerContender, Countdown, inBatches, processTimeoutMs, versionOf } from './contenders.js';
import { conveyorContender } from './conveyor-contender.js';
import { celerySqsArgument, celerySqsBody } from './sqs-celery-message.js';

/** Where a case runs: one SQS endpoint, one queue of its own (the suite deletes it after the case). */
export interface SqsTarget {
  /** e.g. `http://127.0.0.1:9324` (ElasticMQ). */
  endpoint: string;
  region: string;
  /** A standard queue's name: letters, digits, `-`, so kombu's name mangling leaves it as it is. */
  queue: string;
}

/** One library measured by the SQS suite, at a worker concurrency. */
export type SqsContender = BrokerContender<
  'conveyor' | 'raw' | 'sqs-consumer' | 'sqs-consumer-batch',
  SqsTarget
>;

/** SQS's most entries per SendMessageBatch, ReceiveMessage and DeleteMessageBatch. */
export const SQS_BATCH = 10;

/** Long polling, as every contender is configured (SQS's maximum). */
const WAIT_TIME_SECONDS = 20;

/**
 * Receive loops (raw) or consumers (sqs-consumer) at a concurrency: one per 10 messages, so that
 * the messages they hold at once stay within the concurrency, and at least one.
 */
export function pollersAt(concurrency: number): number {
  return Math.max(1, Math.ceil(concurrency / SQS_BATCH));
}

/**
 * A client of its own. Credentials from the standard chain when the environment has some, else
 * dummies (ElasticMQ accepts any).
 */
export function sqsClient(target: Pick<SqsTarget, 'endpoint' | 'region'>): SQSClient {
  return new SQSClient({
    endpoint: target.endpoint,
    region: target.region,
    ...(process.env.AWS_ACCESS_KEY_ID
      ? {}
      : { credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } }),
  });
}

/** Creates the case's queue with the server's defaults and returns its URL. */
async function createQueue(client: SQSClient, queue: string): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: queue }));
  if (!QueueUrl) throw new Error(`CreateQueue ${queue}: no QueueUrl`);
  return QueueUrl;
}

/** One SendMessageBatch of Celery-format messages carrying `values`; any failed entry fails the run. */
async function sendCeleryBatch(
  client: SQSClient,
  queueUrl: string,
  queue: string,
  task: string,
  values: readonly number[],
): Promise<void> {
  const { Failed } = await client.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: values.map((value, i) => ({ Id: String(i), MessageBody: celerySqsBody(queue, task, value) })),
    }),
  );
  if (Failed && Failed.length > 0)
    throw new Error(
      `SendMessageBatch: ${Failed.length} entries failed (${Failed[0]?.Code}: ${Failed[0]?.Message})`,
    );
}

/** The enqueue every anchor does: batches of 10 with as many in flight as the concurrency. */
function sendCeleryMessages(
  client: SQSClient,
  queueUrl: string,
  queue: string,
  tasks: number,
  concurrency: number,
): Promise<void> {
  return inBatches(
    tasks,
    concurrency,
    (from, count) =>
      sendCeleryBatch(
        client,
        queueUrl,
        queue,
        'bench.noop',
        Array.from({ length: count }, (_, i) => from + i),
      ),
    SQS_BATCH,
  );
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'AbortedError');
}

// ---- @conveyor/sqs -------------------------------------------------------------------------------

const conveyor = conveyorContender<SqsTarget>({
  name: '@conveyor/sqs',
  queue: (target) => target.queue,
  transport: (target) =>
    new SqsTransport({
      endpoint: target.endpoint,
      region: target.region,
      ...(process.env.AWS_ACCESS_KEY_ID
        ? {}
        : { client: { credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } } }),
    }),
  declareQueueOnOpen: true,
  enqueueBatch: SQS_BATCH,
});

// ---- raw @aws-sdk/client-sqs loop (the ceiling) ---------------------------------------------------

/**
 * The least an at-least-once SQS worker does: loops that long-poll ReceiveMessage for up to 10,
 * run the handler on each message, then delete them with one DeleteMessageBatch. No envelope
 * object, no bookkeeping, no visibility management.
 */
function rawConsumer(
  target: SqsTarget,
  concurrency: number,
  handler: (body: string) => void,
  onDone: () => void,
  onError: (error: unknown) => void,
) {
  const producer = sqsClient(target);
  const consumer = sqsClient(target);
  const abort = new AbortController();
  let queueUrl: string | undefined;
  let loops: Promise<void>[] = [];
  const loop = async (url: string): Promise<void> => {
    while (!abort.signal.aborted) {
      const { Messages } = await consumer.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: SQS_BATCH,
          WaitTimeSeconds: WAIT_TIME_SECONDS,
        }),
        { abortSignal: abort.signal },
      );
      if (!Messages || Messages.length === 0) continue;
      for (const message of Messages) handler(message.Body ?? '');
      const { Successful, Failed } = await consumer.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      if (Failed && Failed.length > 0) throw new Error(`DeleteMessageBatch: ${Failed.length} entries failed`);
      for (let i = 0; i < (Successful?.length ?? 0); i++) onDone();
    }
  };
  return {
    async open(): Promise<{ client: SQSClient; queueUrl: string }> {
      queueUrl = await createQueue(producer, target.queue);
      return { client: producer, queueUrl };
    },
    start(): void {
      const url = queueUrl;
      if (!url) throw new Error('raw SQS loop: start before open');
      loops = Array.from({ length: pollersAt(concurrency) }, () =>
        loop(url).catch((error: unknown) => {
          if (!abort.signal.aborted || !isAbort(error)) onError(error);
        }),
      );
    },
    async close(): Promise<void> {
      abort.abort();
      await Promise.allSettled(loops);
      producer.destroy();
      consumer.destroy();
    },
  };
}

const raw: SqsContender = {
  id: 'raw',
  name: `raw @aws-sdk/client-sqs ${versionOf('@aws-sdk/client-sqs')} loop (anchor)`,
  throughput(target, tasks, concurrency) {
    const countdown = new Countdown(tasks, 'raw SQS loop', processTimeoutMs(tasks));
    const pair = rawConsumer(
      target,
      concurrency,
      (body) => celerySqsArgument(body),
      () => countdown.tick(),
      (error) => countdown.fail(error),
    );
    let opened: { client: SQSClient; queueUrl: string } | undefined;
    return {
      async open() {
        opened = await pair.open();
      },
      async enqueue() {
        await sendCeleryMessages(opened!.client, opened!.queueUrl, target.queue, tasks, concurrency);
      },
      async process() {
        countdown.arm();
        pair.start();
        await countdown.finished;
      },
      close: () => pair.close(),
    };
  },
  pickup(target, concurrency, hooks) {
    const pair = rawConsumer(
      target,
      concurrency,
      (body) => hooks.started(celerySqsArgument(body)),
      () => hooks.done(),
      () => {},
    );
    let opened: { client: SQSClient; queueUrl: string } | undefined;
    return {
      async start() {
        opened = await pair.open();
        pair.start();
      },
      async send(sentAt) {
        await opened!.client.send(
          new SendMessageCommand({
            QueueUrl: opened!.queueUrl,
            MessageBody: celerySqsBody(target.queue, 'bench.ping', sentAt),
          }),
        );
      },
      close: () => pair.close(),
    };
  },
};

// ---- sqs-consumer ---------------------------------------------------------------------------------

/**
 * sqs-consumer as its README sets it up, batch size 10, one Consumer per 10 of concurrency (it polls
 * once at a time). `batch` picks `handleMessageBatch` (one DeleteMessageBatch per receive) over
 * `handleMessage` (the README's first example: handlers of a receive run at once, each message
 * deleted by a DeleteMessage of its own). sqs-consumer has no producer: its enqueue is the anchor's.
 */
function sqsConsumers(
  target: SqsTarget,
  concurrency: number,
  batch: boolean,
  handler: (body: string) => void,
  onDone: () => void,
  onError: (error: unknown) => void,
) {
  const producer = sqsClient(target);
  const client = sqsClient(target);
  let consumers: Consumer[] = [];
  let queueUrl: string | undefined;
  let stopping = false;
  return {
    async open(): Promise<{ client: SQSClient; queueUrl: string }> {
      queueUrl = await createQueue(producer, target.queue);
      return { client: producer, queueUrl };
    },
    start(): void {
      const url = queueUrl;
      if (!url) throw new Error('sqs-consumer: start before open');
      consumers = Array.from({ length: pollersAt(concurrency) }, () => {
        const consumer = Consumer.create({
          queueUrl: url,
          sqs: client,
          batchSize: SQS_BATCH,
          waitTimeSeconds: WAIT_TIME_SECONDS,
          ...(batch
            ? {
                handleMessageBatch: async (messages: Message[]) => {
                  for (const message of messages) handler(message.Body ?? '');
                  return messages;
                },
              }
            : {
                handleMessage: async (message: Message) => {
                  handler(message.Body ?? '');
                  return message;
                },
              }),
        });
        consumer.on('message_processed', () => onDone());
        const failed = (error: Error): void => {
          if (!stopping || !isAbort(error)) onError(error);
        };
        consumer.on('error', failed);
        consumer.on('processing_error', failed);
        consumer.on('timeout_error', failed);
        consumer.start();
        return consumer;
      });
    },
    async close(): Promise<void> {
      stopping = true;
      await Promise.all(
        consumers.map(
          (consumer) =>
            new Promise<void>((resolve) => {
              consumer.once('stopped', () => resolve());
              consumer.stop({ abort: true });
            }),
        ),
      );
      // The aborted receive settles on a later turn; let it, before the client goes.
      await new Promise((resolve) => setTimeout(resolve, 10));
      producer.destroy();
      client.destroy();
    },
  };
}

function sqsConsumerContender(batch: boolean): SqsContender {
  const version = versionOf('sqs-consumer');
  const name = batch
    ? `sqs-consumer ${version}, handleMessageBatch`
    : `sqs-consumer ${version}, handleMessage`;
  return {
    id: batch ? 'sqs-consumer-batch' : 'sqs-consumer',
    name,
    throughput(target, tasks, concurrency) {
      const countdown = new Countdown(tasks, name, processTimeoutMs(tasks));
      const consumers = sqsConsumers(
        target,
        concurrency,
        batch,
        (body) => celerySqsArgument(body),
        () => countdown.tick(),
        (error) => countdown.fail(error),
      );
      let opened: { client: SQSClient; queueUrl: string } | undefined;
      return {
        async open() {
          opened = await consumers.open();
        },
        async enqueue() {
          await sendCeleryMessages(opened!.client, opened!.queueUrl, target.queue, tasks, concurrency);
        },
        async process() {
          countdown.arm();
          consumers.start();
          await countdown.finished;
        },
        close: () => consumers.close(),
      };
    },
    pickup(target, concurrency, hooks) {
      const consumers = sqsConsumers(
        target,
        concurrency,
        batch,
        (body) => hooks.started(celerySqsArgument(body)),
        () => hooks.done(),
        () => {},
      );
      let opened: { client: SQSClient; queueUrl: string } | undefined;
      return {
        async start() {
          opened = await consumers.open();
          consumers.start();
        },
        async send(sentAt) {
          await opened!.client.send(
            new SendMessageCommand({
              QueueUrl: opened!.queueUrl,
              MessageBody: celerySqsBody(target.queue, 'bench.ping', sentAt),
            }),
          );
        },
        close: () => consumers.close(),
      };
    },
  };
}

/** Every contender, in table order: Conveyor first, then its anchors. */
export const SQS_CONTENDERS: readonly SqsContender[] = [
  conveyor,
  raw,
  sqsConsumerContender(false),
  sqsConsumerContender(true),
];

/** The @aws-sdk/client-sqs that @conveyor/sqs loads: its own dependency, which may be newer than the anchors' pin. */
function conveyorSdkVersion(): string {
  try {
    const fromConveyor = createRequire(createRequire(import.meta.url).resolve('@conveyor/sqs'));
    return (fromConveyor('@aws-sdk/client-sqs/package.json') as { version: string }).version;
  } catch {
    return '?';
  }
}

/** Versions of the libraries measured, for the Markdown. */
export function sqsLibraryVersions(): string {
  return `@aws-sdk/client-sqs ${versionOf('@aws-sdk/client-sqs')} (the raw loop and sqs-consumer) and ${conveyorSdkVersion()} (@conveyor/sqs, its own dependency), sqs-consumer ${versionOf('sqs-consumer')}`;
}
