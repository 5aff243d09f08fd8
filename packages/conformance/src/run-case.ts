import type { Transport, TransportCapabilities } from '@conveyor/core/transport';
import type { CaseContext, CaseMetric, ConformanceCase } from './case.js';
import { createFaultProxy, type FaultProxy } from './fault-proxy.js';
import type { ConformanceHarness, TransportFactoryOptions } from './harness.js';
import type { CaseResult } from './report.js';
import { summarizeErrors, transportErrorsOf } from './support/reported-errors.js';

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
  const { context, reportedErrors, dispose } = createCaseContext(testCase, harness, caps, metrics);
  try {
    await testCase.run(context);
    return { ...base, status: 'passed', durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The transport's own account of what went wrong (onError, failed background settles) is
    // often the real cause: quote it.
    const reported = reportedErrors();
    const reason =
      reported.length > 0 ? `${message}; transport reported: ${summarizeErrors(reported)}` : message;
    return { ...base, status: 'failed', reason, durationMs: Math.round(performance.now() - started) };
  } finally {
    await dispose();
  }
}

/**
 * Every queue a case used, for `harness.cleanup`: the names it asked for, each with its default
 * dead-letter queue `<queue>.dlq` (transports create it on declare). A dead-letter queue a case
 * declares under another name comes from `ctx.queue()` itself, so it is in the list too.
 */
export function queuesToCleanUp(queues: readonly string[]): string[] {
  const names = new Set<string>();
  for (const queue of queues) {
    names.add(queue);
    names.add(`${queue}.dlq`);
  }
  return [...names];
}

function createCaseContext(
  testCase: ConformanceCase,
  harness: ConformanceHarness,
  capabilities: TransportCapabilities,
  metrics: CaseMetric[],
): { context: CaseContext; reportedErrors: () => unknown[]; dispose: () => Promise<void> } {
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
    if (harness.cleanup) await harness.cleanup(queuesToCleanUp(queues)).catch(() => {});
  };
  const reportedErrors = (): unknown[] => transports.flatMap((t) => [...transportErrorsOf(t)]);
  return { context, reportedErrors, dispose };
}
