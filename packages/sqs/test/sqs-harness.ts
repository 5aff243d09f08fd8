import { DeleteQueueCommand, GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ConformanceHarness } from '@conveyor/conformance';
import { SqsTransport, type SqsTransportOptions, sqsQueueName } from '../src/index.js';

/** The ElasticMQ that tooling/brokers starts. */
export const ELASTICMQ = { host: '127.0.0.1', port: 9324 };
export const ELASTICMQ_URL = `http://${ELASTICMQ.host}:${ELASTICMQ.port}`;

/** Short waits and timeouts so that each test file stays quick. */
export const FAST: SqsTransportOptions = { endpoint: ELASTICMQ_URL, waitTimeSeconds: 1 };

/** A plain SDK client, for what the transport cannot do itself (raw sends, clean-up). */
export function rawClient(endpoint = ELASTICMQ_URL): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
}

/** A transport on the shared ElasticMQ with the fast test settings. */
export function fastTransport(extra: SqsTransportOptions = {}): SqsTransport {
  return new SqsTransport({ ...FAST, ...extra });
}

/** Deletes the SQS queues of these Conveyor queues; missing ones are ignored. */
export async function deleteQueues(queues: readonly string[], prefix = '', fifo = false): Promise<void> {
  const client = rawClient();
  await Promise.allSettled(
    queues.map(async (queue) => {
      const { QueueUrl } = await client.send(
        new GetQueueUrlCommand({ QueueName: sqsQueueName(queue, prefix, fifo) }),
      );
      await client.send(new DeleteQueueCommand({ QueueUrl }));
    }),
  );
  client.destroy();
}

/** Conformance harness for ElasticMQ, standard queues or (`fifo`) FIFO queues. */
export function elasticMqHarness(
  name: string,
  extra: SqsTransportOptions = {},
  tuning: Pick<ConformanceHarness, 'scale' | 'patienceMs'> = {},
): ConformanceHarness {
  const fifo = extra.fifo ?? false;
  const prefix = extra.queueNamePrefix ?? '';
  return {
    name,
    ...tuning,
    upstream: ELASTICMQ,
    // An SQS MessageBody is Unicode text: bytes that are not UTF-8 cannot be sent unchanged (DLQ-04).
    rawPayloads: 'text',
    createTransport: ({ endpoint, visibilityTimeoutMs }) =>
      new SqsTransport({
        ...FAST,
        // Delays above 1 s travel in hops, so the delay cases cross the 15-minute boundary scaled down.
        maxNativeDelayMs: 1000,
        // A receive whose connection is cut (RCN-*) may have taken messages whose reply never
        // arrives: SQS hides them for the whole visibility timeout, so it is kept short here.
        visibilityTimeoutMs: 5000,
        ...extra,
        ...(endpoint ? { endpoint: `http://${endpoint.host}:${endpoint.port}` } : {}),
        ...(visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs } : {}),
      }),
    async publishRaw(queue, bytes) {
      const transport = new SqsTransport({ ...FAST, ...extra });
      const url = await transport.queueUrl(queue);
      await transport.close();
      const client = rawClient();
      const raw: {
        QueueUrl: string;
        MessageBody: string;
        MessageGroupId?: string;
        MessageDeduplicationId?: string;
      } = {
        QueueUrl: url,
        MessageBody: Buffer.from(bytes).toString('utf8'),
      };
      if (fifo) {
        raw.MessageGroupId = 'default';
        raw.MessageDeduplicationId = `raw-${Date.now()}-${Math.random()}`;
      }
      await client.send(new SendMessageCommand(raw));
      client.destroy();
    },
    cleanup: (queues) => deleteQueues(queues, prefix, fifo),
  };
}
