import { randomUUID } from 'node:crypto';
import { purgeDeadLetters } from '@conveyor/core';
import { deadLetterMessage, encodeTaskMessage } from '@conveyor/core/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRabbitQueues, deleteRedisKeys, deleteSqsQueues } from './broker-cleanup.js';
import { type DlqBroker, deadLetterScenario } from './dlq-scenario.js';
import { appWithBrokers, lines, runBin, transportInApp } from './helpers.js';

/**
 * `conveyor dlq` on Redis, RabbitMQ and SQS (ElasticMQ): the scenario of dlq-scenario.ts, plus
 * the command line's own checks. Kafka has its own file (its group joins are slow).
 */
const RUN = Math.random().toString(36).slice(2, 8);
const SQS_ENDPOINT = process.env.CONVEYOR_SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const AMQP = 'amqp://guest:guest@127.0.0.1:5672';
const BROKERS: readonly (DlqBroker & { name: string; slug: string })[] = [
  { name: 'redis', slug: 'redis', pkg: 'redis', url: 'redis://127.0.0.1:6379/12', killAfterMs: 30_000 },
  { name: 'rabbitmq (classic queues)', slug: 'classic', pkg: 'amqp', url: AMQP, killAfterMs: 30_000 },
  // Quorum queues count deliveries themselves (x-delivery-count), which browsing raises.
  {
    name: 'rabbitmq (quorum queues)',
    slug: 'quorum',
    pkg: 'amqp',
    url: `${AMQP}?queueType=quorum`,
    killAfterMs: 30_000,
  },
  {
    name: 'sqs (elasticmq)',
    slug: 'sqs',
    pkg: 'sqs',
    url: `sqs://${new URL(SQS_ENDPOINT).host}?waitTimeSeconds=1`,
    killAfterMs: 30_000,
  },
];

const app = appWithBrokers(['redis', 'amqp', 'sqs']);

afterAll(async () => {
  await deleteSqsQueues(app, SQS_ENDPOINT, `cli-dlq-${RUN}`);
  await deleteRabbitQueues(
    app,
    AMQP,
    ['classic', 'quorum'].map((slug) => `cli-dlq-${RUN}-${slug}`),
  );
  await deleteRedisKeys(app, 'redis://127.0.0.1:6379/12', `cli-dlq-${RUN}-*`);
});

describe.each(BROKERS)('conveyor dlq on $name', (broker) => {
  it('lists the letters a worker dead-lettered, redrives only the filtered task (which then runs), purges the rest', async () => {
    const queue = `cli-dlq-${RUN}-${broker.slug}`;
    const timings = await deadLetterScenario(broker, app, queue);
    console.log(`[dlq ${broker.name}] ${JSON.stringify(timings)}`);
  }, 120_000);
});

describe('conveyor dlq: the command line', () => {
  it('names the mistake: no action, an unknown one, show without ID, a bad filter, an option of another action', async () => {
    const cases: [string[], RegExp][] = [
      [[], /missing ACTION/],
      [['move'], /unknown ACTION "move"/],
      [['show'], /dlq show needs the ID/],
      [['list', '--filter', 'colour=red'], /"--filter".*unknown key "colour"/],
      [['list', '--filter', 'since=yesterday'], /"--filter".*since=yesterday/],
      [['list', '--to', 'x'], /--to is for dlq redrive/],
      [['list', '--limit', '0'], /--limit must be an integer >= 1/],
    ];
    for (const [args, message] of cases) {
      const result = await runBin(['dlq', ...args, '--broker', 'redis://127.0.0.1:6379/12'], { cwd: app });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it('redrive --dry-run prints what would move where, and moves nothing', async () => {
    const url = 'redis://127.0.0.1:6379/12';
    const queue = `cli-dlq-${RUN}-dry`;
    const transport = await transportInApp(app, 'redis', url);
    await transport.connect();
    try {
      await transport.declareQueue({ name: queue });
      const ids = [randomUUID(), randomUUID()];
      for (const id of ids) {
        const message = encodeTaskMessage({ id, task: 'dlq.flaky', args: [] });
        await transport.publish(`${queue}.dlq`, deadLetterMessage({ queue, reason: 'boom', message }));
      }
      const json = await runBin(
        ['dlq', 'redrive', '--dry-run', '--to', 'elsewhere', '--json', '-b', url, '-q', queue],
        {
          cwd: app,
        },
      );
      expect(json.code, json.stderr).toBe(0);
      const report = JSON.parse(json.stdout) as {
        wouldMove: number;
        moved: number;
        outcomes: { key: string; to: string; outcome: string }[];
      };
      expect(report).toMatchObject({ wouldMove: 2, moved: 0 });
      expect(report.outcomes.map((o) => [o.key, o.to, o.outcome])).toEqual(
        ids.map((id) => [id, 'elsewhere', 'would-move']),
      );

      const text = await runBin(['dlq', 'redrive', '--dry-run', '-b', url, '-q', queue], { cwd: app });
      expect(text.code, text.stderr).toBe(0);
      expect(lines(text.stdout)).toEqual([
        ...ids.map((id) => `would-move ${id}  dlq.flaky -> ${queue}`),
        `dry run on ${queue}.dlq: would move 2, skipped 0, unmatched 0 (2 read); nothing moved`,
      ]);
      expect((await transport.queueDepth(`${queue}.dlq`)).ready).toBe(2);
      expect((await transport.queueDepth(queue)).ready).toBe(0);
    } finally {
      await purgeDeadLetters(transport, { queue, idleMs: 200 }).catch(() => {});
      await transport.close();
    }
  });

  it('purge without --yes and without a terminal refuses, and removes nothing', async () => {
    const result = await runBin(
      ['dlq', 'purge', '--broker', 'redis://127.0.0.1:6379/12', '-q', `cli-dlq-${RUN}-x`],
      {
        cwd: app,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('add --yes');
  });
});
