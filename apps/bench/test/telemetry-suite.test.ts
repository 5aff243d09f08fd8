import { describe, expect, it } from 'vitest';
import { runTelemetrySuite, telemetrySuiteMarkdown } from '../src/telemetry-suite.js';

// Checks that the suite measures and reports, never how fast: timing is not a pass/fail matter.
describe('telemetry bench suite', () => {
  it('runs each tracing mode on memory:// and Redis, counts the spans, and renders the table', async () => {
    const options = { tasks: 200, redisTasks: 100, runs: 1 };
    const result = await runTelemetrySuite(options);
    expect(result.rows.map((r) => `${r.transport} ${r.mode}`)).toEqual([
      'memory:// off',
      'memory:// no-op tracer',
      'memory:// SDK, in-memory exporter',
      'redis off',
      'redis no-op tracer',
      'redis SDK, in-memory exporter',
    ]);
    for (const row of result.rows) {
      expect(row.cpuMicrosPerTask).toBeGreaterThan(0);
      // Only the SDK records: a send and a process span per task, nothing otherwise.
      expect(row.spansPerTask).toBe(row.mode === 'SDK, in-memory exporter' ? 2 : 0);
    }
    const markdown = telemetrySuiteMarkdown(result, options, 'pnpm bench --suite telemetry');
    expect(markdown).toContain('Command: `pnpm bench --suite telemetry`');
    expect(markdown).toMatch(
      /\| redis \| SDK, in-memory exporter \| [\d,]+ \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \| 2 \|/,
    );
  }, 120_000);
});
