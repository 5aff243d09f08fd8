import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChaosReport } from '../src/chaos-run.js';
import { writeReliabilityDoc } from '../src/reliability-doc.js';

const dir = mkdtempSync(join(tmpdir(), 'chaos-doc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function report(broker: ChaosReport['broker'], lost: number[] = []): ChaosReport {
  return {
    broker,
    tasks: 100,
    workers: 3,
    seed: 1,
    accepted: 100,
    notAccepted: 0,
    faults: { 'worker-kill': 1, 'broker-restart': 1, 'connection-cut': 1 },
    lost,
    duplicates: 2,
    deadLetters: { expected: 1, actual: 1, copies: 0, missing: [], unexpected: [] },
    leftover: { ready: 0, inFlight: 0, delayed: 0 },
    recoveries: [
      { kind: 'worker-kill', startedAt: 0, endedAt: 10, detail: '', toNextCompletionMs: 5, toRateMs: 1200 },
    ],
    baselinePerSecond: 500,
    underFaultPerSecond: 300,
    durationMs: 9000,
    keptIn: undefined,
    stalledWorkers: 0,
    failedStarts: 0,
    unexpectedExits: [],
    workerReports: [],
    workerReportCount: 0,
  };
}

const SKELETON = ['summary', 'recovery', 'commands']
  .map((id) => `<!-- chaos:${id}:start -->\n<!-- chaos:${id}:end -->`)
  .join('\n\nprose\n\n');

describe('writeReliabilityDoc', () => {
  it('writes each broker its rows and keeps the rows of brokers not run this time', async () => {
    const path = join(dir, 'reliability.md');
    writeFileSync(path, `# Reliability\n\n${SKELETON}\n`);
    await writeReliabilityDoc(
      path,
      [report('kafka'), report('redis')],
      'pnpm chaos --broker all',
      '2026-12-01',
    );
    await writeReliabilityDoc(path, [report('redis', [7])], 'pnpm chaos --broker redis', '2026-12-02');
    const doc = readFileSync(path, 'utf8');
    const rows = doc
      .split('\n')
      .filter((line) => /^\| (redis|kafka) \|/.test(line) || line.startsWith('- **'));
    // Redis rows come from the second run (lost 1), Kafka's stay; brokers keep their order.
    expect(rows).toEqual([
      expect.stringMatching(/^\| redis \| 100 \| 1 \/ 1 \/ 1 \| \*\*1\*\* \| 2 \| 1 \/ 1 \|/),
      expect.stringMatching(/^\| kafka \| 100 \| .* \*\*0\*\* /),
      expect.stringMatching(/^\| redis \| worker-kill \| 1 \| 0\.0 s \/ 0\.0 s \| 1\.2 s \/ 1\.2 s \| 0 \|$/),
      expect.stringMatching(/^\| kafka \| worker-kill /),
      '- **redis**: `pnpm chaos --broker redis` (seed 1, 3 workers), 2026-12-02',
      '- **kafka**: `pnpm chaos --broker all` (seed 1, 3 workers), 2026-12-01',
    ]);
    expect(doc).toContain('prose');
  });

  it('refuses a document without the markers rather than losing the table', async () => {
    const path = join(dir, 'bare.md');
    writeFileSync(path, '# Reliability\n');
    await expect(writeReliabilityDoc(path, [report('redis')], 'cmd', 'today')).rejects.toThrow(
      /chaos:summary/,
    );
  });
});
