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
 * The four commands on Kafka (the single KRaft node of tooling/brokers), in a project that has
 * @conveyor/kafka installed: a `conveyor worker` runs what `conveyor send` puts on the topic and
 * stores the result where `send --wait` reads it (Redis db 9, the Kafka tests' own), `conveyor
 * inspect` reports the lag of a topic nobody consumes, and `conveyor conformance` runs cases
 * against the URL. A consumer joining its group takes seconds (a rebalance), hence the patience.
 */
const BOOTSTRAP = process.env.CONVEYOR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const BROKER = `kafka://${BOOTSTRAP}`;
const RESULTS = 'redis://127.0.0.1:6379/9';
const RUN = Math.random().toString(36).slice(2, 8);
const queue = `cli-kafka-${RUN}`;
const idle = `cli-kafka-${RUN}-idle`;

/** The part of kafkajs's admin client this file uses. */
interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(request: { topics: string[] }): Promise<void>;
  deleteGroups(groupIds: string[]): Promise<unknown>;
}

/** What this file takes from the project's @conveyor/kafka and its kafkajs. */
interface KafkaInApp {
  admin: KafkaAdmin;
  groupsOf(topic: string): string[];
}

/** An admin client from the kafkajs the project's @conveyor/kafka uses, and its group names. */
async function kafkaInApp(app: string): Promise<KafkaInApp> {
  const inApp = createRequire(join(app, 'node_modules', '@conveyor', 'kafka', 'package.json'));
  const kafkajs = (await import(inApp.resolve('kafkajs'))) as {
    Kafka: new (config: object) => { admin(): KafkaAdmin };
    logLevel: { NOTHING: number };
  };
  const conveyorKafka = (await import(inApp.resolve('@conveyor/kafka'))) as {
    consumerGroupOf(topic: string): string;
    handoutLedgerGroupOf(topic: string): string;
  };
  const admin = new kafkajs.Kafka({
    clientId: 'cli-kafka-test',
    brokers: BOOTSTRAP.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  return {
    admin,
    groupsOf: (topic) => [conveyorKafka.consumerGroupOf(topic), conveyorKafka.handoutLedgerGroupOf(topic)],
  };
}

/** Every topic on the broker now. */
async function listTopics(app: string): Promise<string[]> {
  const { admin } = await kafkaInApp(app);
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes the topics `select` picks and their consumer groups (the transport deletes nothing).
 * The shared delay topics are never picked.
 */
async function deleteTopics(app: string, select: (topic: string) => boolean): Promise<void> {
  const { admin, groupsOf } = await kafkaInApp(app);
  try {
    const topics = (await admin.listTopics()).filter(select);
    if (topics.length === 0) return;
    await admin.deleteGroups(topics.flatMap(groupsOf)).catch(() => {});
    await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/** The conformance cases this file runs, and the topic names they give their queues. */
const CASES = ['MAN-01', 'LIF-01', 'LIF-02', 'ACK-01', 'RCN-01'];
const CASE_TOPIC = /^cvy-([a-z0-9]+)-([a-z0-9]+)-/;

/**
 * The topics the conformance run created: the suite names queues `cvy-<run>-<case>-…` with a run
 * id of its own process, so they are the new `cvy-` topics of a run id unseen before, of these
 * cases only (another suite running beside this one has its own run id and other cases).
 */
function conformanceTopics(before: readonly string[]): (topic: string) => boolean {
  const known = new Set(before);
  const knownRuns = new Set(before.map((topic) => CASE_TOPIC.exec(topic)?.[1]));
  const cases = new Set(CASES.map((id) => id.toLowerCase().replace('-', '')));
  return (topic) => {
    const match = CASE_TOPIC.exec(topic);
    return match !== null && !known.has(topic) && !knownRuns.has(match[1]) && cases.has(match[2] ?? '');
  };
}

describe('conveyor worker, send, inspect and conformance on kafka://', () => {
  let app: string;
  let worker: RunningBin;

  beforeAll(async () => {
    app = appWithBrokers(['kafka', 'redis']);
    worker = startBin(
      ['worker', '-b', BROKER, '-r', RESULTS, '-t', join(FIXTURES, 'result-tasks.mjs'), '-Q', queue],
      { cwd: app },
    );
    await worker.waitForOutput('ready:', 60_000);
  }, 90_000);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    if (app) await deleteTopics(app, (topic) => topic.startsWith(`cli-kafka-${RUN}`));
  }, 60_000);

  it('send --wait: the worker runs the task and the result comes back; a failure exits 1', async () => {
    const sent = await runBin(
      [
        'send',
        'results.add',
        '-b',
        BROKER,
        '-r',
        RESULTS,
        '-q',
        queue,
        '--args',
        '[2, 3]',
        '--wait',
        '--timeout',
        '50000',
      ],
      { cwd: app, killAfterMs: 55_000 },
    );
    expect(sent.code, sent.stderr).toBe(0);
    const [id, result] = lines(sent.stdout);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toBe('5');
    // The result is stored before the worker logs the success, so the line may trail the reply.
    await worker.waitForOutput(`task results.add[${id}] succeeded`);

    const failed = await runBin(
      ['send', 'results.fail', '-b', BROKER, '-r', RESULTS, '-q', queue, '--wait', '--timeout', '50000'],
      { cwd: app, killAfterMs: 55_000 },
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('refused on purpose');
  }, 120_000);

  it("inspect shows each queue's lag: all of a topic nobody consumes, none of the worker's", async () => {
    for (let n = 0; n < 3; n += 1)
      await sendWithCli(['results.add', '-b', BROKER, '-q', idle, '--args', '[1, 1]'], app);
    type Report = {
      transport: string;
      health: { ok: boolean };
      queues: QueueRow[];
    };
    type QueueRow = {
      queue: string;
      ready: number;
      inFlight: number | null;
      delayed: number | null;
      deadLettered: number;
      lag: number;
    };
    // The worker's queue: its consumer group commits what it acked within its commit interval, and
    // results.fail (the previous test) was dead-lettered.
    let report: Report | undefined;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const result = await runBin(['inspect', '-b', BROKER, '-q', `${queue},${idle}`, '--json'], {
        cwd: app,
      });
      expect(result.code, result.stderr).toBe(0);
      report = JSON.parse(result.stdout) as Report;
      if (report.queues[0]?.lag === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(report?.transport).toBe('kafka');
    expect(report?.health.ok).toBe(true);
    const [busy, waiting] = report?.queues ?? [];
    expect(busy).toMatchObject({ queue, lag: 0, ready: 0, delayed: null, deadLettered: 1 });
    // Kafka keeps delayed records in shared delay topics, so no queue has a delayed count.
    expect(waiting).toMatchObject({ queue: idle, lag: 3, delayed: null, deadLettered: 0 });
    expect(waiting!.ready + (waiting!.inFlight ?? 0)).toBe(3);

    const table = await runBin(['inspect', '-b', BROKER, '-q', idle], { cwd: app });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^queue\s+ready\s+in flight\s+delayed\s+dead-lettered\s+lag$/m);
    expect(table.stdout).toMatch(new RegExp(`^${idle}\\s+\\d+\\s+(\\d+|-)\\s+-\\s+0\\s+3$`, 'm'));
    expect(table.stdout).toContain(
      "lag: records of the queue's topic its consumer group has not committed yet (ready + in flight)",
    );
  }, 120_000);

  it('scheduler refuses Kafka: its workers forward delayed messages, the broker does not', async () => {
    const result = await runBin(['scheduler', '-b', BROKER, '--once'], { cwd: app });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'the kafka transport needs no scheduler: its delayed messages are forwarded by the Conveyor workers',
    );
  }, 60_000);

  it('conformance --only runs the cases against the URL, RCN-01 through the fault proxy', async () => {
    const before = await listTopics(app);
    try {
      const result = await runBin(['conformance', '-b', BROKER, '--only', CASES.join(',')], {
        cwd: app,
        killAfterMs: 110_000,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Conformance of kafka (${BROKER})`);
      expect(result.stdout).toContain(`${CASES.length} passed, 0 failed, 0 skipped`);
    } finally {
      await deleteTopics(app, conformanceTopics(before));
    }
  }, 120_000);
});
