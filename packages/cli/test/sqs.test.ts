import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appWithBrokers,
  FIXTURES,
  lines,
  type RunningBin,
  runBin,
  sendWithCli,
  startBin,
} from './helpers.js';

/**
 * The four commands on SQS (the ElasticMQ of tooling/brokers), in a project that has @conveyor/sqs
 * installed: a `conveyor worker` runs what `conveyor send` puts on the queue and stores the result
 * where `send --wait` reads it (Redis db 2, the SQS tests' own), `conveyor inspect` counts the
 * messages nobody consumes, and `conveyor conformance` runs cases against the URL. A 1 s long poll
 * keeps the worker's stop short.
 */
const ENDPOINT = process.env.CONVEYOR_SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const BROKER = `sqs://${new URL(ENDPOINT).host}?waitTimeSeconds=1`;
const RESULTS = 'redis://127.0.0.1:6379/2';
const RUN = Math.random().toString(36).slice(2, 8);
const queue = `cli-sqs-${RUN}`;
const idle = `cli-sqs-${RUN}-idle`;

/** The SDK the project's @conveyor/sqs uses, to delete this file's queues (the transport cannot). */
async function deleteQueues(app: string, prefix: string): Promise<void> {
  const inApp = createRequire(join(app, 'node_modules', '@conveyor', 'sqs', 'package.json'));
  const sdk = (await import(inApp.resolve('@aws-sdk/client-sqs'))) as {
    SQSClient: new (
      config: object,
    ) => { send(command: object): Promise<{ QueueUrls?: string[] }>; destroy(): void };
    ListQueuesCommand: new (input: { QueueNamePrefix: string }) => object;
    DeleteQueueCommand: new (input: { QueueUrl: string }) => object;
  };
  const sqs = new sdk.SQSClient({
    endpoint: ENDPOINT,
    region: 'elasticmq',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    const { QueueUrls = [] } = await sqs.send(new sdk.ListQueuesCommand({ QueueNamePrefix: prefix }));
    for (const QueueUrl of QueueUrls) await sqs.send(new sdk.DeleteQueueCommand({ QueueUrl }));
  } finally {
    sqs.destroy();
  }
}

describe('conveyor worker, send, inspect and conformance on sqs://', () => {
  let app: string;
  let worker: RunningBin;

  beforeAll(async () => {
    app = appWithBrokers(['sqs', 'redis']);
    worker = startBin(
      ['worker', '-b', BROKER, '-r', RESULTS, '-t', join(FIXTURES, 'result-tasks.mjs'), '-Q', queue],
      { cwd: app },
    );
    await worker.waitForOutput('ready:', 30_000);
  }, 60_000);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    if (app) await deleteQueues(app, `cli-sqs-${RUN}`);
  });

  it('send --wait: the worker runs the task and the result comes back; a failure exits 1', async () => {
    const sent = await runBin(
      ['send', 'results.add', '-b', BROKER, '-r', RESULTS, '-q', queue, '--args', '[2, 3]', '--wait'],
      { cwd: app },
    );
    expect(sent.code, sent.stderr).toBe(0);
    const [id, result] = lines(sent.stdout);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toBe('5');
    // The result is stored before the worker logs the success, so the line may trail the reply.
    await worker.waitForOutput(`task results.add[${id}] succeeded`);

    const failed = await runBin(
      ['send', 'results.fail', '-b', BROKER, '-r', RESULTS, '-q', queue, '--wait'],
      {
        cwd: app,
      },
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('refused on purpose');
  }, 60_000);

  it('inspect --json counts the messages sent to a queue nobody consumes', async () => {
    for (let n = 0; n < 3; n += 1)
      await sendWithCli(['results.add', '-b', BROKER, '-q', idle, '--args', '[1, 1]'], app);
    const result = await runBin(['inspect', '-b', BROKER, '-q', idle, '--json'], { cwd: app });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      health: { ok: boolean };
      queues: { queue: string; ready: number; inFlight: number | null }[];
    };
    expect(report.health.ok).toBe(true);
    expect(report.queues).toEqual([expect.objectContaining({ queue: idle, ready: 3, inFlight: 0 })]);
  }, 60_000);

  it('conformance --only runs the cases against the URL, the reconnect cases through the fault proxy', async () => {
    // A receive whose reply the proxy cut leaves its messages invisible for the visibility timeout:
    // 5 s instead of the default 5 minutes lets RCN-01 see them again within its patience.
    // The prefix puts the suite's queues under this file's names, which afterAll deletes.
    const url = `${BROKER}&visibilityTimeoutMs=5000&queueNamePrefix=cli-sqs-${RUN}-`;
    const result = await runBin(['conformance', '-b', url, '--only', 'MAN-01,LIF-01,ACK-01,RCN-01,RCN-02'], {
      cwd: app,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Conformance of sqs (${url})`);
    // Nothing skipped: sqs://host:port is plain HTTP, so the fault proxy sits in front of it.
    expect(result.stdout).toContain('5 passed, 0 failed, 0 skipped');
  }, 90_000);
});
