import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ensurePythonCelery } from '@conveyor/python-interop';
import {
  CELERY_INTEROP_CASES,
  conveyorSendsCountdown,
  describeCeleryInterop,
} from '@conveyor/python-interop/vitest';
import { describe, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { CeleryRedisResults } from './fixtures/celery-redis-results.js';
import { skipOrFailInCi } from './fixtures/ci.js';

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

/** Why the suite cannot run here (ElasticMQ, Redis or the Python venv missing), or null. */
async function missing(): Promise<string | null> {
  try {
    await sqs.send(new ListQueuesCommand({ MaxResults: 1 }));
  } catch (error) {
    return `no SQS at ${ENDPOINT} (bash tooling/brokers/brokers.sh up sqs): ${String((error as Error).message)}`;
  }
  const results = new CeleryRedisResults(RESULTS);
  try {
    await results.get('00000000-0000-4000-8000-000000000000');
  } catch (error) {
    return `no Redis at ${RESULTS} for the results: ${String((error as Error).message)}`;
  } finally {
    await results.close();
  }
  try {
    await ensurePythonCelery();
  } catch (error) {
    return `no Python Celery: ${String((error as Error).message)
      .replace(/\s+/g, ' ')
      .slice(0, 500)}`;
  }
  return null;
}

const unavailable = await missing();
if (unavailable) {
  // Under CI a skip would hide a broken set-up: there the file fails.
  skipOrFailInCi('Celery interop over SQS', unavailable, (note) => {
    describe.skip('Celery interop over SQS', () => {
      it(note, () => {});
    });
  });
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
