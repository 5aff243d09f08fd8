import { measureDecode, measureDispatchAndAck, measureEncode } from './core-costs.js';
import { measureMemoryThroughput, measureRawLoop } from './memory-throughput.js';
import { formatCount, median, repeat, suiteHeading } from './stats.js';

/** Options of the memory:// suite. */
export interface MemorySuiteOptions {
  tasks: number;
  runs: number;
}

/** One row of the throughput table. */
export interface ThroughputRow {
  name: string;
  concurrency: number;
  tasksPerSecond: number;
  runs: number[];
}

/** Results of the memory:// suite. */
export interface MemorySuiteResult {
  throughput: ThroughputRow[];
  costs: { encodeNs: number; decodeNs: number; dispatchAckNs: number };
}

/** Measures everything of the memory:// suite. Cases are run one after the other, never in parallel. */
export async function runMemorySuite(options: MemorySuiteOptions): Promise<MemorySuiteResult> {
  const throughput: ThroughputRow[] = [];
  for (const concurrency of [1, 50]) {
    const raw = await repeat(options.runs, () => measureRawLoop(options.tasks, concurrency));
    throughput.push({
      name: 'raw in-process loop (anchor)',
      concurrency,
      tasksPerSecond: median(raw),
      runs: raw,
    });
    const conveyor = await repeat(options.runs, () =>
      measureMemoryThroughput({ tasks: options.tasks, concurrency, withResults: false }),
    );
    throughput.push({
      name: 'conveyor memory://',
      concurrency,
      tasksPerSecond: median(conveyor),
      runs: conveyor,
    });
  }
  const withResults = await repeat(options.runs, () =>
    measureMemoryThroughput({ tasks: options.tasks, concurrency: 50, withResults: true }),
  );
  throughput.push({
    name: 'conveyor memory:// + MemoryResultBackend',
    concurrency: 50,
    tasksPerSecond: median(withResults),
    runs: withResults,
  });
  const iterations = Math.max(options.tasks, 10_000);
  const costs = {
    encodeNs: median(await repeat(options.runs, async () => measureEncode(iterations))),
    decodeNs: median(await repeat(options.runs, async () => measureDecode(iterations))),
    dispatchAckNs: median(await repeat(options.runs, () => measureDispatchAndAck(options.tasks))),
  };
  return { throughput, costs };
}

/** The Markdown section for docs/benchmarks.md. */
export function memorySuiteMarkdown(
  result: MemorySuiteResult,
  options: MemorySuiteOptions,
  command: string,
): string {
  const lines = suiteHeading(command, options.tasks, options.runs);
  lines.push(
    'End to end: a producer sends no-op tasks in batches of 500 while a worker runs them (late ack, no result',
    'unless stated); tasks/s from the first send to the last completion. The anchor is the ceiling of in-process',
    'dispatch (an array and a loop awaiting an async no-op, no encoding, no acks): its ratio shows what the',
    'Celery wire format and at-least-once bookkeeping cost. Broker anchors (raw client, BullMQ, bee-queue,',
    'celery-node) are measured with each broker package.',
    '',
  );
  lines.push('| case | concurrency | tasks/s (median) | vs raw loop | runs |');
  lines.push('| --- | ---: | ---: | ---: | --- |');
  for (const row of result.throughput) {
    const raw = result.throughput.find((r) => r.name.startsWith('raw') && r.concurrency === row.concurrency);
    const ratio = raw ? (row.tasksPerSecond / raw.tasksPerSecond).toFixed(2) : '';
    lines.push(
      `| ${row.name} | ${row.concurrency} | ${formatCount(row.tasksPerSecond)} | ${ratio}× | ${row.runs.map(formatCount).join(', ')} |`,
    );
  }
  const c = result.costs;
  const conveyor50 = result.throughput.find((r) => r.name === 'conveyor memory://' && r.concurrency === 50)!;
  const perTaskNs = 1e9 / conveyor50.tasksPerSecond;
  const rest = perTaskNs - c.encodeNs - c.decodeNs - c.dispatchAckNs;
  lines.push('', "Where one task's time goes at concurrency 50 (ns per task):", '');
  lines.push('| part | ns/task | share |', '| --- | ---: | ---: |');
  const share = (ns: number): string => `${Math.round((ns / perTaskNs) * 100)}%`;
  lines.push(
    `| encode (client: headers, argsrepr, JSON body) | ${Math.round(c.encodeNs)} | ${share(c.encodeNs)} |`,
  );
  lines.push(`| decode + validate (worker) | ${Math.round(c.decodeNs)} | ${share(c.decodeNs)} |`);
  lines.push(
    `| MemoryTransport publish + dispatch + ack | ${Math.round(c.dispatchAckNs)} | ${share(c.dispatchAckNs)} |`,
  );
  lines.push(
    `| worker runtime, client batching, events, GC (the rest) | ${Math.round(rest)} | ${share(rest)} |`,
  );
  lines.push(`| **total** (1 / end-to-end rate) | ${Math.round(perTaskNs)} | 100% |`);
  return lines.join('\n');
}
