import { describe, expect, it } from 'vitest';
import { isolationSuiteMarkdown, overheadMicros, runIsolationSuite } from '../src/isolation-suite.js';

// Checks that the suite measures and reports, never how fast: timing is not a pass/fail matter.
describe('isolation bench suite', () => {
  it('runs the task in every mode at each concurrency and renders the overhead against in-process', async () => {
    const options = { tasks: 300, runs: 1 };
    const result = await runIsolationSuite(options);
    expect(result.rows.map((r) => `${r.mode}@${r.concurrency}`)).toEqual([
      'in-process@1',
      'thread@1',
      'process@1',
      'in-process@8',
      'thread@8',
      'process@8',
    ]);
    for (const row of result.rows) {
      expect(row.tasksPerSecond).toBeGreaterThan(0);
      expect(row.startMs).toBeGreaterThanOrEqual(0);
    }
    expect(overheadMicros(result, result.rows[0]!)).toBeUndefined();
    expect(overheadMicros(result, result.rows[1]!)).toBeTypeOf('number');
    const markdown = isolationSuiteMarkdown(result, options, 'pnpm bench --suite isolation');
    expect(markdown).toContain('Command: `pnpm bench --suite isolation`');
    expect(markdown).toMatch(/\| thread \| 1 \| [\d,]+ \| [\d.]+ \| -?[\d.]+ \| [\d.]+ \|/);
    expect(markdown).toMatch(/\| in-process \| 8 \| [\d,]+ \| [\d.]+ \| {2}\| [\d.]+ \|/);
  }, 120_000);
});
