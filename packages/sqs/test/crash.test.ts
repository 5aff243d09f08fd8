import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Client, defineTask } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport, sqsQueueName } from '../src/index.js';

// ElasticMQ from tooling/brokers. The visibility timeout is short so that what the killed worker
// held comes back within seconds.
const ENDPOINT = process.env.CONVEYOR_SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const TOTAL = 10_000;
const VISIBILITY_MS = 3000;
const queue = `crash-${Math.random().toString(36).slice(2, 8)}`;
const dir = mkdtempSync(join(tmpdir(), 'conveyor-sqs-crash-'));
const ranFile = join(dir, 'ran.txt');
const fixture = fileURLToPath(new URL('./fixtures/recording-worker.mjs', import.meta.url));
const sqs = new SQSClient({
  endpoint: ENDPOINT,
  region: 'elasticmq',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture, ENDPOINT, queue, String(VISIBILITY_MS), ranFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

/** Every line the workers wrote: one per run of a task. */
function runs(): number[] {
  let text = '';
  try {
    text = readFileSync(ranFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
}

async function queueCounts(name: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: sqsQueueName(name, '', false) }));
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed),
  };
}

/** Messages in a queue, whatever their state; 0 for a queue that does not exist. */
async function depth(name: string): Promise<number> {
  try {
    const counts = await queueCounts(name);
    return counts.visible + counts.inFlight + counts.delayed;
  } catch (error) {
    if ((error as Error).name === 'QueueDoesNotExist') return 0;
    throw error;
  }
}

afterAll(async () => {
  try {
    // The queue and the dead-letter queue the Worker declared beside it.
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queue }));
    for (const QueueUrl of QueueUrls) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  } finally {
    sqs.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('a worker killed with SIGKILL mid-stream', () => {
  it('loses none of 10,000 tasks: after a restart every task has run at least once', async () => {
    const producer = new SqsTransport({ endpoint: ENDPOINT, visibilityTimeoutMs: VISIBILITY_MS });
    const client = new Client({ transport: producer, defaultQueue: queue });
    const record = defineTask({ name: 'crash.record', handler: (_: [number]) => undefined });
    const args = Array.from({ length: TOTAL }, (_, i) => [i] as [number]);
    // Every sendMany resolves only once SQS accepted each of its messages (a refused entry throws).
    let accepted = 0;
    for (let i = 0; i < TOTAL; i += 1000) {
      accepted += (await client.sendMany(record, args.slice(i, i + 1000))).length;
    }
    await producer.close();
    expect(accepted).toBe(TOTAL);

    const first = await startWorker();
    await expect.poll(() => runs().length, { timeout: 60_000, interval: 20 }).toBeGreaterThan(TOTAL / 4);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const ranBeforeKill = new Set(runs()).size;
    const inFlightAtKill = (await queueCounts(queue)).inFlight;
    expect(ranBeforeKill).toBeLessThan(TOTAL);
    // The killed worker held received, unsettled messages: only the visibility timeout brings them back.
    expect(inFlightAtKill).toBeGreaterThan(0);

    const second = await startWorker();
    let deadLettered = 0;
    try {
      // Done when every task ran and the queue drained (copies of tasks that ran but whose delete the
      // kill cut off come back after the visibility timeout and run again), or as soon as anything
      // reaches the dead-letter queue: none of these tasks fails, so none may end there.
      await expect
        .poll(
          async () => {
            deadLettered = await depth(`${queue}.dlq`);
            const counts = await queueCounts(queue);
            const drained = counts.visible + counts.inFlight + counts.delayed === 0;
            return deadLettered > 0 || (drained && new Set(runs()).size === TOTAL);
          },
          { timeout: 90_000, interval: 250 },
        )
        .toBe(true);
    } finally {
      second.kill('SIGKILL');
    }
    const all = runs();
    const distinct = new Set(all);
    expect([...distinct].every((n) => Number.isInteger(n) && n >= 0 && n < TOTAL)).toBe(true);
    const lost = TOTAL - distinct.size;
    const duplicates = all.length - distinct.size;
    expect({ lost, deadLettered }).toEqual({ lost: 0, deadLettered: 0 });
    console.log(
      `sqs crash test: ${accepted} accepted, ${lost} lost, ${duplicates} duplicates (ran twice or more); ` +
        `${ranBeforeKill} had run before SIGKILL, ${inFlightAtKill} were in flight and came back after the ${VISIBILITY_MS} ms visibility timeout`,
    );
  }, 240_000);
});
