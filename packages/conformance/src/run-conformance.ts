import type { ConformanceCase } from './case.js';
import { ALL_CASES } from './cases/index.js';
import type { ConformanceHarness } from './harness.js';
import { type CaseResult, type ConformanceReport, judgeClaims, writeReport } from './report.js';
import { capabilitiesOf, runCase } from './run-case.js';
import { SUITE_VERSION } from './version.js';

/** Options of runConformance. */
export interface RunConformanceOptions {
  /** Run only these case ids (default: all). */
  only?: readonly string[];
  /** The catalogue to run (default ALL_CASES); for suites that add cases of their own. */
  cases?: readonly ConformanceCase[];
  /** Write the JSON report here. */
  reportPath?: string;
  /** Called as each case finishes. */
  onCaseFinished?: (result: CaseResult) => void;
}

/** Runs the suite without a test runner (the CLI uses this) and returns the capability report. */
export async function runConformance(
  harness: ConformanceHarness,
  options: RunConformanceOptions = {},
): Promise<ConformanceReport> {
  const startedAt = new Date().toISOString();
  const capabilities = await capabilitiesOf(harness);
  const selected = (options.cases ?? ALL_CASES).filter((c) => !options.only || options.only.includes(c.id));
  const results: CaseResult[] = [];
  for (const testCase of selected) {
    const result = await runCase(testCase, harness, capabilities);
    results.push(result);
    options.onCaseFinished?.(result);
  }
  const report = buildReport(harness.name, startedAt, capabilities, results);
  if (options.reportPath) await writeReport(options.reportPath, report);
  return report;
}

/** Assembles a report from case results. */
export function buildReport(
  transport: string,
  startedAt: string,
  capabilities: ConformanceReport['capabilities'],
  results: CaseResult[],
): ConformanceReport {
  const count = (status: CaseResult['status']): number => results.filter((r) => r.status === status).length;
  return {
    transport,
    suiteVersion: SUITE_VERSION,
    startedAt,
    capabilities,
    claims: judgeClaims(capabilities, results),
    cases: results,
    summary: { passed: count('passed'), failed: count('failed'), skipped: count('skipped') },
  };
}
