import { describe, expect, it } from 'vitest';
import { runSigningSuite, signingSuiteMarkdown } from '../src/signing-suite.js';

// Checks that the suite measures and reports, never how fast: timing is not a pass/fail matter.
describe('signing bench suite', () => {
  it('runs the task unsigned and signed end to end, times sign and verify per key size, and renders both tables', async () => {
    const options = { tasks: 200, runs: 1, cryptoIterations: 10 };
    const result = await runSigningSuite(options);
    expect(result.endToEnd.map((r) => r.mode)).toEqual(['unsigned', 'signed', 'signed + bound headers']);
    expect(result.crypto.map((r) => r.keyBits)).toEqual([2048, 3072, 4096]);
    for (const row of result.crypto) {
      expect(row.signMicros).toBeGreaterThan(0);
      expect(row.verifyMicros).toBeGreaterThan(0);
      // A bigger key makes a bigger signature: the envelope grows with it.
      expect(row.addedBytes).toBeGreaterThan(row.keyBits / 8);
    }
    const markdown = signingSuiteMarkdown(result, options, 'pnpm bench --suite signing');
    expect(markdown).toContain('Command: `pnpm bench --suite signing`');
    expect(markdown).toMatch(/\| signed \(RSA 2048\) \| [\d,]+ \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \|/);
    for (const row of result.endToEnd) expect(row.cpuMicrosPerTask).toBeGreaterThan(0);
    expect(markdown).toMatch(/\| 4096 bits \| [\d.]+ \| [\d.]+ \| \d+ \|/);
  }, 120_000);
});
