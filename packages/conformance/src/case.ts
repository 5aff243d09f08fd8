import type { Transport, TransportCapabilities } from '@conveyor/core/transport';
import type { FaultProxy } from './fault-proxy.js';
import type { ConformanceHarness, TransportFactoryOptions } from './harness.js';

/** A measurement a case reports (lateness of delays, throughput), never a pass/fail criterion. */
export interface CaseMetric {
  name: string;
  value: number;
  unit: string;
}

/** What a running case can use. Every resource it creates is cleaned up after it. */
export interface CaseContext {
  readonly harness: ConformanceHarness;
  /** Capabilities of the transport under test (read from a transport object). */
  readonly capabilities: TransportCapabilities;
  /**
   * A fresh queue name, unique to this run and case. Take every queue from here, dead-letter
   * queues included (or use `<queue>.dlq`): `harness.cleanup` is given exactly these names, each
   * with its `<queue>.dlq`.
   */
  queue(label?: string): string;
  /** A new connected transport; closed after the case. */
  transport(options?: TransportFactoryOptions): Promise<Transport>;
  /** A fault proxy in front of `harness.upstream` (only in cases that require `upstream`). */
  faultProxy(): Promise<FaultProxy>;
  /** Ceiling of every "eventually" wait (harness.patienceMs, default 30 s): guards hangs, never measures speed. */
  readonly patienceMs: number;
  /** Count scaled by `harness.scale`. */
  scaled(count: number): number;
  /** Records a measurement in the report. */
  metric(name: string, value: number, unit: string): void;
}

/** Why a case does not apply: returned by `requires`, shown in the report. */
export type SkipReason = string;

/**
 * One conformance case. `id` never changes meaning (retired ids are not reused); `requires`
 * returns a reason to skip, or undefined when the case applies.
 */
export interface ConformanceCase {
  readonly id: string;
  readonly title: string;
  /** Capabilities (or harness hooks) the case verifies: used for the claims section of the report. */
  readonly verifies: readonly string[];
  requires?(capabilities: TransportCapabilities, harness: ConformanceHarness): SkipReason | undefined;
  run(context: CaseContext): Promise<void>;
}

/** Defines a case (an identity function that keeps the literal types). */
export function defineCase(definition: ConformanceCase): ConformanceCase {
  return Object.freeze(definition);
}
