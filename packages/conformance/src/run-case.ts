import type { Transport, TransportCapabilities } from '@conveyor/core';
import type { CaseContext, CaseMetric, ConformanceCase } from './case.js';
import { createFaultProxy, type FaultProxy } from './fault-proxy.js';
import type { ConformanceHarness, TransportFactoryOptions } from './harness.js';
import type { CaseResult } from './report.js';

const RUN_ID = Math.random().toString(36).slice(2, 8);

/** Reads the manifest from a fresh, unconnected transport. */
export async function capabilitiesOf(harness: ConformanceHarness): Promise<TransportCapabilities> {
  const transport = await harness.createTransport({});
  return transport.capabilities;
}

/** The reason a case does not apply to this transport and harness, if any. */
export function skipReasonOf(
  testCase: ConformanceCase,
  caps: TransportCapabilities,
  harness: ConformanceHarness,
): string | undefined {
  return testCase.requires?.(caps, harness);
}

/**
 * Runs one case against the harness, with its own queue names and transports, and cleans up.
 * Never throws: failures come back as a `failed` result with the reason.
 */
export async function runCase(
  testCase: ConformanceCase,
  harness: ConformanceHarness,
  capabilities?: TransportCapabilities,
): Promise<CaseResult> {
  const caps = capabilities ?? (await capabilitiesOf(harness));
  const metrics: CaseMetric[] = [];
  const base = { id: testCase.id, title: testCase.title, metrics };
  const skip = skipReasonOf(testCase, caps, harness);
  if (skip) return { ...base, status: 'skipped', reason: skip, durationMs: 0 };
  const started = performance.now();
  const { context, dispose } = createCaseContext(testCase, harness, caps, metrics);
  try {
    await testCase.run(context);
    return { ...base, status: 'passed', durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ...base, status: 'failed', reason, durationMs: Math.round(performance.now() - started) };
  } finally {
    await dispose();
  }
}

function createCaseContext(
  testCase: ConformanceCase,
  harness: ConformanceHarness,
  capabilities: TransportCapabilities,
  metrics: CaseMetric[],
): { context: CaseContext; dispose: () => Promise<void> } {
  const transports: Transport[] = [];
  const proxies: FaultProxy[] = [];
  const queues: string[] = [];
  let counter = 0;
  const context: CaseContext = {
    harness,
    capabilities,
    patienceMs: harness.patienceMs ?? 30_000,
    queue(label = 'q') {
      counter += 1;
      const base = `cvy-${RUN_ID}-${testCase.id.toLowerCase().replace(/[^a-z0-9]/g, '')}-${label}${counter}`;
      const name = harness.queueName ? harness.queueName(base) : base;
      queues.push(name);
      return name;
    },
    async transport(options: TransportFactoryOptions = {}) {
      const transport = await harness.createTransport(options);
      transports.push(transport);
      await transport.connect();
      return transport;
    },
    async faultProxy() {
      if (!harness.upstream) throw new Error('harness.upstream is required for a fault proxy');
      const proxy = await createFaultProxy({ upstream: harness.upstream });
      proxies.push(proxy);
      return proxy;
    },
    scaled(count) {
      return Math.max(1, Math.round(count * (harness.scale ?? 1)));
    },
    metric(name, value, unit) {
      metrics.push({ name, value, unit });
    },
  };
  const dispose = async (): Promise<void> => {
    await Promise.allSettled(transports.map((t) => t.close()));
    await Promise.allSettled(proxies.map((p) => p.close()));
    if (harness.cleanup) await harness.cleanup(queues).catch(() => {});
  };
  return { context, dispose };
}
