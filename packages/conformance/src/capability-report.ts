import { readFile, writeFile } from 'node:fs/promises';
import type { TransportCapabilities } from '@conveyor/core/transport';
import type { ConformanceCase } from './case.js';
import { ALL_CASES } from './cases/index.js';
import type { ConformanceHarness } from './harness.js';
import { capabilitiesOf, skipReasonOf } from './run-case.js';

/** Environment variable that makes `checkCapabilityReports` rewrite the committed file. */
export const UPDATE_CAPABILITY_REPORTS_ENV = 'CONVEYOR_UPDATE_CAPABILITY_REPORTS';

/**
 * What a shipped transport claims and which cases that selects, without running any: its
 * capabilities, the case ids that apply, and the ids that are skipped with their reasons. Committed
 * next to the transport's tests, it pins the claims: a changed claim (say `delay.mode` set to
 * `none`) would otherwise silently turn cases into skips.
 */
export interface CapabilityReport {
  /** `transport.capabilities` of a fresh, unconnected transport from the harness. */
  capabilities: TransportCapabilities;
  /** Ids of the cases that apply, in suite order. */
  applies: string[];
  /** Ids of the cases that are skipped, with the reason each is skipped. */
  skips: Record<string, string>;
}

/** The file that pins one or more harnesses' reports, by harness name. */
export interface CapabilityReportFile {
  /** How to regenerate the file, for whoever opens it. */
  note: string;
  harnesses: Record<string, CapabilityReport>;
}

/** Options of capabilityReport and checkCapabilityReports. */
export interface CapabilityReportOptions {
  /** The catalogue to select from (default ALL_CASES). */
  cases?: readonly ConformanceCase[];
  /**
   * checkCapabilityReports only: rewrite the file instead of comparing. Default: true when
   * `CONVEYOR_UPDATE_CAPABILITY_REPORTS=1` is in the environment.
   */
  update?: boolean;
}

/** Computes the capability report of a harness from `skipReasonOf` over the catalogue. */
export async function capabilityReport(
  harness: ConformanceHarness,
  options: CapabilityReportOptions = {},
): Promise<CapabilityReport> {
  const capabilities = await capabilitiesOf(harness);
  const applies: string[] = [];
  const skips: Record<string, string> = {};
  for (const testCase of options.cases ?? ALL_CASES) {
    const reason = skipReasonOf(testCase, capabilities, harness);
    if (reason === undefined) applies.push(testCase.id);
    else skips[testCase.id] = reason;
  }
  // A JSON round trip: plain objects, exactly as the committed file holds them.
  return JSON.parse(JSON.stringify({ capabilities, applies, skips })) as CapabilityReport;
}

/**
 * What changed between a committed report and the current one, in plain words, one line each:
 * every capability whose value differs, every case that moved between "applies" and "skipped"
 * (with the new reason), every case that is new or gone, and changed skip reasons. Empty when
 * they agree.
 */
export function capabilityReportChanges(committed: CapabilityReport, current: CapabilityReport): string[] {
  const changes: string[] = [];
  const before = flatten(committed.capabilities);
  const after = flatten(current.capabilities);
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[key] !== after[key]) {
      changes.push(`capabilities.${key}: ${before[key] ?? '(absent)'} → ${after[key] ?? '(absent)'}`);
    }
  }
  const statusOf = (report: CapabilityReport, id: string): string | undefined =>
    report.applies.includes(id) ? 'applies' : report.skips[id] !== undefined ? 'skipped' : undefined;
  const ids = [
    ...new Set([
      ...current.applies,
      ...Object.keys(current.skips),
      ...committed.applies,
      ...Object.keys(committed.skips),
    ]),
  ];
  for (const id of ids) {
    const was = statusOf(committed, id);
    const now = statusOf(current, id);
    if (was === undefined) {
      changes.push(
        now === 'applies'
          ? `${id} is a new case and applies`
          : `${id} is a new case and is skipped: ${current.skips[id]}`,
      );
    } else if (now === undefined) {
      changes.push(`${id} is no longer in the suite (it ${was === 'applies' ? 'applied' : 'was skipped'})`);
    } else if (was === 'applies' && now === 'skipped') {
      changes.push(`${id} applied and is now skipped: ${current.skips[id]}`);
    } else if (was === 'skipped' && now === 'applies') {
      changes.push(`${id} was skipped (${committed.skips[id]}) and now applies`);
    } else if (was === 'skipped' && committed.skips[id] !== current.skips[id]) {
      changes.push(`${id} is still skipped, now because ${current.skips[id]} (was: ${committed.skips[id]})`);
    }
  }
  return changes;
}

/**
 * Compares the reports of `harnesses` with the committed file at `path` and throws, saying what
 * changed and how to accept it, when they differ (or the file or a harness is missing from it).
 * With `CONVEYOR_UPDATE_CAPABILITY_REPORTS=1` in the environment it rewrites the file instead.
 *
 * ```ts
 * it('claims what the committed report says', () =>
 *   checkCapabilityReports(fileURLToPath(new URL('./capability-report.json', import.meta.url)), [harness]));
 * ```
 */
export async function checkCapabilityReports(
  path: string,
  harnesses: readonly ConformanceHarness[],
  options: CapabilityReportOptions = {},
): Promise<void> {
  const current: Record<string, CapabilityReport> = {};
  for (const harness of harnesses) current[harness.name] = await capabilityReport(harness, options);
  const rerun = `run the test again with ${UPDATE_CAPABILITY_REPORTS_ENV}=1 in the environment and commit ${path}`;
  if (options.update ?? process.env[UPDATE_CAPABILITY_REPORTS_ENV] === '1') {
    const file: CapabilityReportFile = {
      note: `Pinned claims of this transport. Regenerate with ${UPDATE_CAPABILITY_REPORTS_ENV}=1 (review the diff: a claim that disappears turns conformance cases into skips).`,
      harnesses: current,
    };
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    return;
  }
  let committed: CapabilityReportFile;
  try {
    committed = JSON.parse(await readFile(path, 'utf8')) as CapabilityReportFile;
  } catch (error) {
    throw new Error(
      `no readable capability report at ${path} (${(error as Error).message}); to write it, ${rerun}`,
    );
  }
  const problems: string[] = [];
  for (const [name, report] of Object.entries(current)) {
    const pinned = committed.harnesses?.[name];
    if (!pinned) {
      problems.push(`${name}: not in the committed report`);
      continue;
    }
    for (const change of capabilityReportChanges(pinned, report)) problems.push(`${name}: ${change}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `the transport's claims or the conformance cases they select changed:\n  ${problems.join('\n  ')}\nIf that is intended, ${rerun} (review the diff: a claim withdrawn turns cases into skips).`,
    );
  }
}

/** `{ delay: { mode: 'native' } }` → `{ 'delay.mode': '"native"' }`. */
function flatten(value: unknown, prefix = '', into: Record<string, string> = {}): Record<string, string> {
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, into);
  } else {
    into[prefix] = JSON.stringify(value);
  }
  return into;
}
