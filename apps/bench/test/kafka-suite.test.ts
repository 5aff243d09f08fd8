import { describe, expect, it } from 'vitest';
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
    const options = { tasks: 200, runs: 1, samples: 3, brokers: DEFAULT_KAFKA_BROKERS };
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

    const command = 'node apps/bench/dist/main.js --suite kafka --kafka-tasks 200 --runs 1';
    const markdown = kafkaSuiteMarkdown(result, options, command);
    expect(markdown).toMatch(/^Machine: Node v\d+.*127\.0\.0\.1:9092/m);
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
