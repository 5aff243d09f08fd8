import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBenchmarkSection } from '../src/benchmarks-doc.js';
import { memorySuiteMarkdown, runMemorySuite } from '../src/memory-suite.js';

// Checks that the bench measures and reports, never how fast: timing is not a pass/fail matter.
describe('memory:// bench suite', () => {
  it('measures every case and renders the table with ratios', async () => {
    const options = { tasks: 2000, runs: 1 };
    const result = await runMemorySuite(options);
    expect(result.throughput.map((r) => `${r.name}@${r.concurrency}`)).toEqual([
      'raw in-process loop (anchor)@1',
      'conveyor memory://@1',
      'raw in-process loop (anchor)@50',
      'conveyor memory://@50',
      'conveyor memory:// + MemoryResultBackend@50',
    ]);
    for (const row of result.throughput) expect(row.tasksPerSecond).toBeGreaterThan(0);
    expect(result.costs.encodeNs).toBeGreaterThan(0);
    const markdown = memorySuiteMarkdown(result, options, 'pnpm bench');
    expect(markdown).toContain('| conveyor memory:// | 50 |');
    expect(markdown).toMatch(/\| \d[\d.]*× \|/);
  }, 120_000);

  it('rewrites only its own section of the benchmarks file', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'bench-')), 'benchmarks.md');
    await writeBenchmarkSection(file, 'memory', 'memory', 'first');
    await writeBenchmarkSection(file, 'redis', 'redis', 'redis table');
    await writeBenchmarkSection(file, 'memory', 'memory', 'second');
    const doc = await readFile(file, 'utf8');
    expect(doc).toContain('second');
    expect(doc).not.toContain('first');
    expect(doc).toContain('redis table');
    expect(doc.indexOf('second')).toBeLessThan(doc.indexOf('redis table'));
  });
});
