/**
 * @conveyor/conformance: prove that a Conveyor transport keeps the contract against a real broker.
 * The vitest entry point is `@conveyor/conformance/vitest` (describeTransportConformance); this
 * entry point has no test-runner dependency (runConformance, cases, the fault proxy).
 */
export type { ConformanceHarness, TransportFactoryOptions, Endpoint } from './harness.js';
export { type ConformanceCase, type CaseContext, type CaseMetric, defineCase } from './case.js';
export { ALL_CASES } from './cases/index.js';
export * from './cases/index.js';
export { runCase, capabilitiesOf, skipReasonOf } from './run-case.js';
export { runConformance, buildReport, type RunConformanceOptions } from './run-conformance.js';
export {
  type ConformanceReport,
  type CaseResult,
  type ClaimResult,
  formatReport,
  writeReport,
  claimsOf,
  judgeClaims,
} from './report.js';
export { createFaultProxy, type FaultProxy, type FaultProxyStats } from './fault-proxy.js';
export { ConsumerProbe, type SettleMode } from './support/consumer-probe.js';
export { probeMessage, probeIds, idOf, PROBE_TASK } from './support/probe-message.js';
export { waitUntil, sleep } from './support/wait.js';
export { SUITE_VERSION } from './version.js';
