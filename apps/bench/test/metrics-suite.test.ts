import { describe, expect, it } from 'vitest';
import { metricsSuiteMarkdown, runMetricsSuite } from '../src/metrics-suite.js';

// Checks that the suite measures and reports, never how fast: timing is not a pass/fail matter.
describe('metrics bench suite', () => {
  it('runs each mode on memory://, renders the registry and the table', async () => {
    const options = { tasks: 300, runs: 1 };
    const result = await runMetricsSuite(options);
    expect(result.rows.map((r) => r.mode)).toEqual(['off', 'on', 'on, scraped every 100 ms']);
    for (const row of result.rows) expect(row.cpuMicrosPerTask).toBeGreaterThan(0);
    expect(result.renderBytes).toBeGreaterThan(0);
    const markdown = metricsSuiteMarkdown(result, options, 'pnpm bench --suite metrics');
    expect(markdown).toContain('Command: `pnpm bench --suite metrics`');
    expect(markdown).toMatch(/\| on \| [\d,]+ \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \|/);
  }, 120_000);
});
