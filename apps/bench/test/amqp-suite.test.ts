import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { amqpSuiteMarkdown, DEFAULT_AMQP_URL, runAmqpSuite } from '../src/amqp-suite.js';
import { expectCaseTables, expectEveryCaseMeasured } from './broker-suite-expectations.js';

// Checks that the bench measures and reports, never how fast: timing is not a pass/fail matter.
describe('AMQP bench suite', () => {
  it('measures every contender at both prefetches, renders the tables and deletes its queues', async () => {
    const options = { tasks: 300, runs: 1, samples: 5, url: DEFAULT_AMQP_URL };
    const result = await runAmqpSuite(options);
    expect(result.rows.map((r) => `${r.contender}@${r.prefetch}`)).toEqual([
      'conveyor@1',
      'raw@1',
      'raw-celery-format@1',
      'celery-node@1',
      'conveyor@100',
      'raw@100',
      'raw-celery-format@100',
      'celery-node@100',
    ]);
    expectEveryCaseMeasured(result.rows);
    expect(result.rabbitmqVersion).toMatch(/^\d+\.\d+/);

    const command = 'pnpm bench --suite amqp --amqp-tasks 300 --runs 1';
    const markdown = amqpSuiteMarkdown(result, options, command);
    expect(markdown).toMatch(/^Machine: Node v\d+.*RabbitMQ \d/m);
    expect(markdown).toContain('guest:***@');
    expectCaseTables(markdown, command, result.rows);
    // The raw anchor's own ratio column reads 1.00×.
    expect(markdown).toMatch(/\| raw amqplib 2\.3\.1 \(anchor\) \| 100 \| [\d,]+ \| 1\.00× \| \d+\.\d\d× \|/);

    // Every case deleted its queue: none of the bench's names is left.
    const connection = await amqplib.connect(DEFAULT_AMQP_URL);
    const leftovers = result.rows.length * 2 * 2; // cases x (throughput, pickup) x (warm-up, run)
    let found = 0;
    for (let i = 1; i <= leftovers; i++) {
      for (const row of result.rows) {
        const kinds = ['throughput', 'pickup'];
        for (const kind of kinds) {
          const name = `conveyor-bench.${row.contender}.p${row.prefetch}.${kind}.${process.pid}.${i}`;
          const probe = await connection.createChannel();
          probe.on('error', () => {});
          if (
            await probe.checkQueue(name).then(
              () => true,
              () => false,
            )
          )
            found += 1;
          await probe.close().catch(() => {});
        }
      }
    }
    expect(found).toBe(0);
    await connection.close();
  }, 300_000);
});
