import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { sqsClient } from '../src/sqs-contenders.js';
import {
  DEFAULT_SQS_ENDPOINT,
  DEFAULT_SQS_REGION,
  runSqsSuite,
  sqsBenchPrefix,
  sqsSuiteMarkdown,
} from '../src/sqs-suite.js';
import { expectCaseTables, expectEveryCaseMeasured } from './broker-suite-expectations.js';

// Checks that the bench measures and reports, never how fast: timing is not a pass/fail matter.
describe('SQS bench suite', () => {
  it('measures every contender at both concurrencies on ElasticMQ, renders the tables and deletes its queues', async () => {
    const options = {
      tasks: 100,
      runs: 1,
      samples: 3,
      endpoint: DEFAULT_SQS_ENDPOINT,
      region: DEFAULT_SQS_REGION,
    };
    const result = await runSqsSuite(options);
    expect(result.rows.map((r) => `${r.contender}@${r.concurrency}`)).toEqual([
      'conveyor@1',
      'raw@1',
      'sqs-consumer@1',
      'sqs-consumer-batch@1',
      'conveyor@50',
      'raw@50',
      'sqs-consumer@50',
      'sqs-consumer-batch@50',
    ]);
    expectEveryCaseMeasured(result.rows);

    const command = 'node apps/bench/dist/main.js --suite sqs --sqs-tasks 100 --runs 1';
    const markdown = sqsSuiteMarkdown(result, options, command);
    expect(markdown).toMatch(/^Machine: Node v\d+.*http:\/\/127\.0\.0\.1:9324/m);
    expectCaseTables(markdown, command, result.rows);
    // The raw anchor's own ratio column reads 1.00×.
    expect(markdown).toMatch(
      /\| raw @aws-sdk\/client-sqs [\d.]+ loop \(anchor\) \| 50 \| [\d,]+ \| 1\.00× \| \d+\.\d\d× \|/,
    );

    // Every case deleted its queue: none of this process's bench queues is left.
    const admin = sqsClient(options);
    const { QueueUrls } = await admin.send(new ListQueuesCommand({ QueueNamePrefix: sqsBenchPrefix() }));
    admin.destroy();
    expect(QueueUrls ?? []).toEqual([]);
  }, 60_000);
});
