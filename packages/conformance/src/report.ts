import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TransportCapabilities } from '@conveyor/core/transport';
import type { CaseMetric } from './case.js';

/** Outcome of one case. */
export interface CaseResult {
  id: string;
  title: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped, or the assertion that failed (with what the transport reported, if anything). */
  reason?: string;
  durationMs: number;
  metrics: CaseMetric[];
}

/** A capability the transport claims and what the suite found about it. */
export interface ClaimResult {
  capability: string;
  claimed: string;
  /** verified: every case behind it passed; unverified: some were skipped; violated: one failed. */
  verdict: 'verified' | 'unverified' | 'violated';
  cases: string[];
}

/** The machine-readable capability report. */
export interface ConformanceReport {
  transport: string;
  suiteVersion: string;
  startedAt: string;
  capabilities: TransportCapabilities;
  claims: ClaimResult[];
  cases: CaseResult[];
  summary: { passed: number; failed: number; skipped: number };
}

/** Which cases prove which claim. Unclaimed features are covered by UNS-01. */
export function claimsOf(
  caps: TransportCapabilities,
): { capability: string; claimed: string; cases: string[] }[] {
  const claims: { capability: string; claimed: string; cases: string[] }[] = [
    {
      capability: 'delivery',
      claimed: 'at-least-once',
      cases: ['PUB-01', 'ACK-01', 'ACK-02', 'CNT-01', 'CRS-01', 'CRS-02', 'CLS-01', 'CLS-02'],
    },
    { capability: 'prefetch', claimed: 'exact bound', cases: ['PRE-01'] },
    {
      capability: 'queueDepth',
      claimed: 'ready; inFlight and delayed where reported (undefined is not judged)',
      cases: ['LIF-02', 'DEP-01'],
    },
    { capability: 'maxMessageBytes', claimed: String(caps.maxMessageBytes), cases: ['SIZ-01'] },
  ];
  const unclaimed =
    caps.priorityLevels === 0 ||
    caps.delay.mode === 'none' ||
    caps.delay.maxDelayMs !== null ||
    !caps.deduplication ||
    caps.ordering === 'none' ||
    !caps.deadLetter ||
    !caps.visibilityExtension;
  if (unclaimed) {
    const cases = caps.visibilityExtension ? ['UNS-01'] : ['UNS-01', 'EXT-01'];
    claims.push({ capability: 'unclaimed features', claimed: 'refused', cases });
  }
  if (caps.delay.mode !== 'none') {
    const max = caps.delay.maxDelayMs === null ? 'unbounded' : `max ${caps.delay.maxDelayMs} ms`;
    claims.push({
      capability: 'delay',
      claimed: `${caps.delay.mode}, ${max}, precision ${caps.delay.precisionMs} ms`,
      cases: ['DEL-01', 'DEL-02'],
    });
  }
  if (caps.priorityLevels > 0)
    claims.push({ capability: 'priorityLevels', claimed: String(caps.priorityLevels), cases: ['PRI-01'] });
  if (caps.ordering === 'queue')
    claims.push({ capability: 'ordering', claimed: 'queue', cases: ['ORD-01', 'ORD-02'] });
  if (caps.ordering === 'key') claims.push({ capability: 'ordering', claimed: 'key', cases: ['ORD-02'] });
  if (caps.deadLetter)
    claims.push({
      capability: 'deadLetter',
      claimed: 'true',
      cases: ['DLQ-01', 'DLQ-02', 'DLQ-03', 'DLQ-04'],
    });
  if (caps.batchPublish)
    claims.push({ capability: 'batchPublish', claimed: 'true', cases: ['BAT-01', 'PUB-01'] });
  if (caps.redelivery.visibilityTimeoutMs !== null || caps.visibilityExtension) {
    claims.push({
      capability: 'visibility',
      claimed: `timeout ${caps.redelivery.visibilityTimeoutMs} ms, extension ${caps.visibilityExtension}`,
      cases: caps.visibilityExtension ? ['CRS-03', 'EXT-01', 'LSE-01'] : ['CRS-03', 'LSE-01'],
    });
  }
  if (caps.deduplication) claims.push({ capability: 'deduplication', claimed: 'true', cases: ['DUP-01'] });
  if (caps.broadcast) claims.push({ capability: 'broadcast', claimed: 'true', cases: ['BRD-01'] });
  // Without a visibility timeout, a lease is lost with the connection: LSE-01 cuts it.
  const reconnectCases =
    caps.redelivery.visibilityTimeoutMs === null ? ['RCN-01', 'RCN-02', 'LSE-01'] : ['RCN-01', 'RCN-02'];
  claims.push({ capability: 'reconnect', claimed: 'automatic', cases: reconnectCases });
  return claims;
}

/** Judges each claim from the case results. */
export function judgeClaims(caps: TransportCapabilities, results: readonly CaseResult[]): ClaimResult[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return claimsOf(caps).map((claim) => {
    const statuses = claim.cases.map((id) => byId.get(id)?.status ?? 'skipped');
    const verdict = statuses.includes('failed')
      ? 'violated'
      : statuses.includes('skipped')
        ? 'unverified'
        : 'verified';
    return { ...claim, verdict };
  });
}

/** A plain-text table of the report, for terminals and READMEs. */
export function formatReport(report: ConformanceReport): string {
  const lines = [`Conformance of ${report.transport} (suite ${report.suiteVersion})`, ''];
  for (const c of report.cases) {
    const mark = c.status === 'passed' ? 'pass' : c.status === 'failed' ? 'FAIL' : 'skip';
    const metrics = c.metrics
      .map((m) => `${m.name}=${m.value}${m.unit === 'ms' ? 'ms' : ` ${m.unit}`}`)
      .join(', ');
    const detail = c.reason ? ` — ${c.reason}` : metrics ? ` (${metrics})` : '';
    lines.push(`  ${mark}  ${c.id.padEnd(7)} ${c.title}${detail}`);
  }
  lines.push('', 'Claims:');
  for (const claim of report.claims) {
    lines.push(
      `  ${claim.verdict.padEnd(10)} ${claim.capability}: ${claim.claimed} [${claim.cases.join(', ')}]`,
    );
  }
  const { passed, failed, skipped } = report.summary;
  lines.push('', `${passed} passed, ${failed} failed, ${skipped} skipped`);
  return lines.join('\n');
}

/** Writes the report as JSON, creating the folder. */
export async function writeReport(path: string, report: ConformanceReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
