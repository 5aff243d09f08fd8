import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisSuiteMarkdown, runRedisSuite } from '../src/redis-suite.js';
import { percentile } from '../src/stats.js';

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
    for (const row of result.rows) {
      expect(row.enqueue.runs).toHaveLength(1);
      expect(row.enqueue.median, `${row.name} enqueue`).toBeGreaterThan(0);
      expect(row.process.median, `${row.name} process`).toBeGreaterThan(0);
      expect(row.nodeCpuUsPerJob, `${row.name} node cpu`).toBeGreaterThan(0);
      expect(row.pickupP50.median, `${row.name} pickup p50`).toBeGreaterThan(0);
      expect(row.pickupP99.median).toBeGreaterThanOrEqual(row.pickupP50.median);
    }
    expect(result.redisVersion).toMatch(/^\d+\.\d+/);

    const markdown = redisSuiteMarkdown(result, options, 'pnpm bench --redis-tasks 300 --runs 1');
    expect(markdown).toContain('Command: `pnpm bench --redis-tasks 300 --runs 1`');
    expect(markdown).toMatch(/^Machine: Node v\d+.*Redis \d/m);
    expect(markdown).toContain('How measured:');
    const sections = markdown.split('\n### ').slice(1);
    expect(sections.map((s) => s.slice(0, s.indexOf(':')))).toEqual([
      'Process',
      'Enqueue',
      'Idle pickup latency',
    ]);
    const names = [
      '@conveyor/redis',
      'raw ioredis BLMOVE/LREM loop (anchor)',
      'BullMQ 6.7.0',
      'bee-queue 2.0.0',
    ];
    for (const section of sections) {
      for (const name of names) {
        const row = new RegExp(`^\\| ${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| \\d+ \\| `, 'gm');
        expect(section.match(row), `${name} in ${section.slice(0, 20)}`).toHaveLength(2);
      }
    }
    // BullMQ's own ratio column reads 1.00×, and every row has a ratio.
    expect(markdown).toMatch(/\| BullMQ 6\.7\.0 \| 50 \| [\d,]+ \| 1\.00× \| \d+\.\d\d× \|/);

    // Every case closed what it opened and the suite left its database empty.
    const redis = new Redis(target);
    expect(await redis.dbsize()).toBe(0);
    redis.disconnect();
  }, 300_000);

  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i);
    expect(percentile(values, 50)).toBe(100);
    expect(percentile(values, 99)).toBe(198);
    expect(percentile([7], 99)).toBe(7);
  });
});
