import { describe, expect, it } from 'vitest';
import type { KafkaRow } from '../src/kafka-suite.js';
import {
  DEFAULT_KAFKA_BROKERS,
  kafkaBenchPrefix,
  kafkaSuiteMarkdown,
  runKafkaSuite,
} from '../src/kafka-suite.js';
import { kafkajsClient } from '../src/kafkajs-contender.js';
import { expectCaseTables, expectEveryCaseMeasured } from './broker-suite-expectations.js';

// Checks that the bench measures and reports, never how fast: timing is not a pass/fail matter.
describe('Kafka bench suite', () => {
  it('measures every contender at both concurrencies on Kafka, renders the tables and deletes its topics and groups', async () => {
    // Fewer records at concurrency 1, to exercise tasksAtOne (--kafka-tasks-at-1).
    const options = { tasks: 200, tasksAtOne: 50, runs: 1, samples: 3, brokers: DEFAULT_KAFKA_BROKERS };
    const result = await runKafkaSuite(options);
    expect(result.rows.map((r) => `${r.contender}@${r.concurrency}`)).toEqual([
      'conveyor@1',
      'kafkajs@1',
      'platformatic@1',
      'conveyor@50',
      'kafkajs@50',
      'platformatic@50',
    ]);
    expectEveryCaseMeasured(result.rows);
    for (const row of result.rows) expect(row.startupMs.median, `${row.name} start`).toBeGreaterThan(0);

    const command =
      'node apps/bench/dist/main.js --suite kafka --kafka-tasks 200 --kafka-tasks-at-1 50 --runs 1';
    const markdown = kafkaSuiteMarkdown(result, options, command);
    expect(markdown).toMatch(/^Machine: Node v\d+.*127\.0\.0\.1:9092/m);
    expect(markdown).toMatch(
      /`KafkaTransport` with its defaults \(delivery counts stored [a-z-]+, commit interval \d+ ms, delay forwarder on\)/,
    );
    expectCaseTables(markdown, command, result.rows);

    // Every case deleted its topic and its consumer group: none of this process's is left.
    const admin = kafkajsClient(options.brokers, 'bench-test').admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(kafkaBenchPrefix()));
    const groups = (await admin.listGroups()).groups.filter((g) => g.groupId.startsWith(kafkaBenchPrefix()));
    await admin.disconnect();
    expect(topics).toEqual([]);
    expect(groups).toEqual([]);
  }, 240_000);
});

describe('Kafka suite Markdown', () => {
  const figure = (value: number) => ({ median: value, runs: [value] });
  const row = (
    contender: KafkaRow['contender'],
    name: string,
    concurrency: number,
    process: number,
    startupMs: number,
  ): KafkaRow => ({
    contender,
    name,
    concurrency,
    enqueue: figure(20_000),
    process: figure(process),
    nodeCpuUsPerJob: 12.4,
    pickupP50: figure(1.5),
    pickupP99: figure(4),
    startupMs: figure(startupMs),
  });
  const rows: KafkaRow[] = [
    row('conveyor', '@conveyor/kafka', 1, 10, 33),
    row('kafkajs', 'raw kafkajs', 1, 8000, 12),
    row('conveyor', '@conveyor/kafka', 50, 72_000, 40),
    row('kafkajs', 'raw kafkajs', 50, 90_000, 18),
    row('platformatic', 'raw platformatic', 50, 100_000, 170),
  ];

  it('renders start ms, the per-level N, and the target line with small ratios readable', () => {
    const markdown = kafkaSuiteMarkdown(
      { rows },
      { tasks: 20_000, tasksAtOne: 500, runs: 1, samples: 100, brokers: ['127.0.0.1:9092'] },
      'node apps/bench/dist/main.js --suite kafka',
    );
    expect(markdown).toContain('(N = 20,000 no-op messages per throughput run, 500 at concurrency 1,');
    const lines = markdown.split('\n').filter((line) => line.startsWith('|'));
    expect(lines).toContain(
      '| contender | concurrency | msgs/s (median) | vs raw kafkajs | vs raw @platformatic/kafka | Node CPU µs/msg | start ms | runs |',
    );
    expect(lines).toContain('| @conveyor/kafka | 50 | 72,000 | 0.80× | 0.72× | 12 | 40 | 72,000 |');
    expect(lines).toContain(
      '| contender | batches in flight | msgs/s (median) | vs raw kafkajs | vs raw @platformatic/kafka | runs |',
    );
    expect(lines).toContain('| raw kafkajs | 40 | 20,000 | 1.00× | 1.00× | 20,000 |');
    expect(markdown).toContain(
      "at concurrency 1 @conveyor/kafka drains 0.0013× of raw kafkajs's rate; at concurrency 50 @conveyor/kafka drains 0.80× of raw kafkajs's rate and 0.72× of raw @platformatic/kafka's.",
    );
  });
});
