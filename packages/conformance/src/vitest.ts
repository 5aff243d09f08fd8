import { afterAll, describe, it } from 'vitest';
import type { ConformanceCase } from './case.js';
import { ALL_CASES } from './cases/index.js';
import type { ConformanceHarness } from './harness.js';
import { type CaseResult, formatReport, writeReport } from './report.js';
import { capabilitiesOf, runCase } from './run-case.js';
import { buildReport } from './run-conformance.js';

/** Options of describeTransportConformance. */
export interface DescribeConformanceOptions {
  /** Run only these case ids. */
  only?: readonly string[];
  /** Case catalogue (default ALL_CASES). */
  cases?: readonly ConformanceCase[];
  /**
   * Where the JSON capability report goes. Default: `$CONVEYOR_CONFORMANCE_REPORT_DIR` or
   * `test-results/`, file `conformance-<name>.json`.
   */
  reportPath?: string;
  /** Per-case timeout for vitest (default 240 s). */
  timeoutMs?: number;
}

/**
 * Registers the conformance suite in a vitest file: one test per case, titled `<ID> <title>`,
 * run in order. A case that does not apply is skipped with its reason visible in the report.
 *
 * ```ts
 * describeTransportConformance({ name: 'my-broker', createTransport: () => new MyTransport(url) });
 * ```
 */
export function describeTransportConformance(
  harness: ConformanceHarness,
  options: DescribeConformanceOptions = {},
): void {
  const selected = (options.cases ?? ALL_CASES).filter((c) => !options.only || options.only.includes(c.id));
  const results: CaseResult[] = [];
  const startedAt = new Date().toISOString();
  let capabilities: Awaited<ReturnType<typeof capabilitiesOf>> | undefined;
  const caps = async (): Promise<NonNullable<typeof capabilities>> => {
    capabilities ??= await capabilitiesOf(harness);
    return capabilities;
  };

  describe.sequential(`${harness.name} conformance`, () => {
    for (const testCase of selected) {
      it(`${testCase.id} ${testCase.title}`, { timeout: options.timeoutMs ?? 240_000 }, async (ctx) => {
        const result = await runCase(testCase, harness, await caps());
        results.push(result);
        for (const metric of result.metrics) {
          await ctx.annotate(`${metric.name}: ${metric.value} ${metric.unit}`, 'metric');
        }
        if (result.status === 'skipped') ctx.skip(result.reason);
        if (result.status === 'failed') throw new Error(`${testCase.id} failed: ${result.reason}`);
      });
    }
    afterAll(async () => {
      if (results.length === 0) return;
      const report = buildReport(harness.name, startedAt, await caps(), results);
      const dir = process.env.CONVEYOR_CONFORMANCE_REPORT_DIR ?? 'test-results';
      const file =
        options.reportPath ?? `${dir}/conformance-${harness.name.replace(/[^a-z0-9]+/gi, '-')}.json`;
      await writeReport(file, report);
      if (process.env.CONVEYOR_CONFORMANCE_PRINT) console.log(formatReport(report));
    });
  });
}

export type { ConformanceHarness, Endpoint, TransportFactoryOptions } from './harness.js';
