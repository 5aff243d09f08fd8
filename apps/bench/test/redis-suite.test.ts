import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisSuiteMarkdown, runRedisSuite } from '../src/redis-suite.js';
import { expectCaseTables, expectEveryCaseMeasured } from './broker-suite-expectations.js';

// A database of its own (the bench itself defaults to 14; packages/redis tests use others).
const target = { host: '127.0.0.1', port: 6379, db: 10 };

// Checks that the bench measures and reports, never how fast: timing is not a pass/fail matter.
describe('Redis bench suite', () => {
  it('measures every contender at both concurrencies and renders the tables with ratios', async () => {
    const options = { tasks: 300, runs: 1, samples: 10, target };
    const result = await runRedisSuite(options);
    expect(result.rows.map((r) => `${r.contender}@${r.concurrency}`)).toEqual([
      'conveyor@1',
      'raw@1',
      'bullmq@1',
      'bee-queue@1',
      'conveyor@50',
      'raw@50',
      'bullmq@50',
      'bee-queue@50',
    ]);
    expectEveryCaseMeasured(result.rows);
    expect(result.redisVersion).toMatch(/^\d+\.\d+/);
    expect(result.rows.map((r) => r.name).slice(0, 4)).toEqual([
      '@conveyor/redis',
      'raw ioredis BLMOVE/LREM loop (anchor)',
      'BullMQ 6.7.0',
      'bee-queue 2.0.0',
    ]);

    const command = 'pnpm bench --redis-tasks 300 --runs 1';
    const markdown = redisSuiteMarkdown(result, options, command);
    expect(markdown).toMatch(/^Machine: Node v\d+.*Redis \d/m);
    expectCaseTables(markdown, command, result.rows);
    // BullMQ's own ratio column reads 1.00×, and every row has a ratio.
    expect(markdown).toMatch(/\| BullMQ 6\.7\.0 \| 50 \| [\d,]+ \| 1\.00× \| \d+\.\d\d× \|/);

    // Every case closed what it opened and the suite left its database empty.
    const redis = new Redis(target);
    expect(await redis.dbsize()).toBe(0);
    redis.disconnect();
  }, 300_000);
});
