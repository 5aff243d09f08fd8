import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  CELERY_INTEROP_CASES,
  CeleryRedisResults,
  conveyorSendsCountdown,
  describeCeleryInterop,
  missingInteropPrerequisites,
  skipCeleryInterop,
} from '@conveyor/python-interop/vitest';
import { SqsTransport } from '../src/index.js';

// Real Python Celery (tooling/python: Celery 5.7 with kombu's SQS transport, boto3 and pycurl) and
// Conveyor on the same ElasticMQ queues, both ways, with results in Celery's Redis result backend
// (Celery has none on SQS). Redis db 2 is the SQS tests' own.
const ENDPOINT = process.env.CONVEYOR_SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const RESULTS = 'redis://127.0.0.1:6379/2';
// kombu takes the endpoint from the URL's host and port (http unless is_secure); the credentials
// are placeholders, as ElasticMQ checks none.
const CELERY_BROKER = `sqs://x:x@${new URL(ENDPOINT).host}`;
// A 1 s long poll on both sides instead of 10 s (kombu) and 20 s (Conveyor): stops are quick.
const CELERY_TRANSPORT_OPTIONS = { region: 'elasticmq', wait_time_seconds: 1 };

const sqs = new SQSClient({
  endpoint: ENDPOINT,
  region: 'elasticmq',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});

/** Deletes each queue and whatever else it made (its dead-letter queue, `<name>-dlq`). */
async function deleteQueues(queues: readonly string[]): Promise<void> {
  for (const queue of queues) {
    const prefix = queue.replace(/\.fifo$/, '');
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
    for (const QueueUrl of QueueUrls) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  }
}

const unavailable = await missingInteropPrerequisites({
  broker: `SQS at ${ENDPOINT} (bash tooling/brokers/brokers.sh up sqs)`,
  probeBroker: async () => {
    await sqs.send(new ListQueuesCommand({ MaxResults: 1 }));
  },
  redisResultsUrl: RESULTS,
});
if (unavailable) {
  // Under CI a skip would hide a broken set-up: there the file fails.
  skipCeleryInterop('SQS', unavailable);
} else {
  describeCeleryInterop({
    name: 'SQS',
    createTransport: () => new SqsTransport({ endpoint: ENDPOINT, waitTimeSeconds: 1 }),
    brokerUrl: CELERY_BROKER,
    celeryTransportOptions: CELERY_TRANSPORT_OPTIONS,
    resultBackendUrl: RESULTS,
    createResultBackend: () => new CeleryRedisResults(RESULTS),
    queuePrefix: 'sqs-interop',
    cleanup: deleteQueues,
  });

  // FIFO queues: kombu recognises one by its `.fifo` name and sends in the group "default";
  // Conveyor's fifo option keeps that name. A FIFO queue takes no per-message delay, so Conveyor
  // claims no delays there and its countdown case does not apply.
  describeCeleryInterop({
    name: 'SQS FIFO',
    createTransport: () => new SqsTransport({ endpoint: ENDPOINT, waitTimeSeconds: 1, fifo: true }),
    brokerUrl: CELERY_BROKER,
    celeryTransportOptions: CELERY_TRANSPORT_OPTIONS,
    resultBackendUrl: RESULTS,
    createResultBackend: () => new CeleryRedisResults(RESULTS),
    queuePrefix: 'sqs-interop',
    queueSuffix: '.fifo',
    cleanup: deleteQueues,
    cases: CELERY_INTEROP_CASES.filter((c) => c !== conveyorSendsCountdown),
  });
}
