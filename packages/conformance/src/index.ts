/**
 * @conveyor/conformance: prove that a Conveyor transport keeps the contract against a real broker.
 * The vitest entry point is `@conveyor/conformance/vitest` (describeTransportConformance); this
 * entry point has no test-runner dependency (runConformance, cases, the fault proxy).
 */

export {
  type CapabilityReport,
  type CapabilityReportFile,
  type CapabilityReportOptions,
  capabilityReport,
  capabilityReportChanges,
  checkCapabilityReports,
  UPDATE_CAPABILITY_REPORTS_ENV,
} from './capability-report.js';
export { type CaseContext, type CaseMetric, type ConformanceCase, defineCase } from './case.js';
export * from './cases/index.js';
export { ALL_CASES } from './cases/index.js';
export { createFaultProxy, type FaultProxy, type FaultProxyStats } from './fault-proxy.js';
export type { ConformanceHarness, Endpoint, TransportFactoryOptions } from './harness.js';
export {
  type CaseResult,
  type ClaimResult,
  type ConformanceReport,
  claimsOf,
  formatReport,
  judgeClaims,
  writeReport,
} from './report.js';
export { capabilitiesOf, queuesToCleanUp, runCase, skipReasonOf } from './run-case.js';
export { buildReport, type RunConformanceOptions, runConformance } from './run-conformance.js';
export { ConsumerProbe, type SettleMode } from './support/consumer-probe.js';
export { expectRejection, expectResolves, rejectionProblem } from './support/expect-error.js';
export { idOf, PROBE_TASK, probeIds, probeMessage } from './support/probe-message.js';
export { describeError, transportErrorsOf } from './support/reported-errors.js';
export { sleep, waitUntil } from './support/wait.js';
export { SUITE_VERSION } from './version.js';
