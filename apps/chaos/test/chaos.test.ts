import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerName } from '../src/broker-profiles.js';
import { brokersSh } from '../src/broker-scripts.js';
import { runChaos } from '../src/chaos-run.js';
import { reportRows } from '../src/reliability-doc.js';
import { violations } from '../src/violations.js';

// The short chaos run of the test command (issue 13): 1,000 tasks per broker through three worker
// processes with one fault of each kind (SQS: no broker restart, see docs/reliability.md). It
// asserts the invariants, never the timing: nothing accepted is lost, the dead-letter queue holds
// exactly the meant-to-fail tasks, nothing is left ready or in flight. Timings are printed.
const TASKS = 1000;

/**
 * Per-worker concurrency: low, so that 1,000 tasks last long enough for every fault to land while
 * work is in flight (SQS is slower per task already).
 */
const CASES: { broker: BrokerName; concurrency: number }[] = [
  { broker: 'redis', concurrency: 1 },
  { broker: 'rabbitmq', concurrency: 1 },
  { broker: 'rabbitmq-quorum', concurrency: 1 },
  { broker: 'sqs', concurrency: 3 },
  { broker: 'kafka', concurrency: 2 },
];

afterAll(async () => {
  // Each run brings its broker back in its own `finally`; this covers a run killed by a timeout.
  if (process.env.CONVEYOR_BROKERS_EXTERNAL === '1') return;
  await brokersSh(['rabbitmqctl', 'start_app']).catch(() => undefined);
  await brokersSh(['up', 'rabbitmq', 'kafka']);
}, 300_000);

describe.each(CASES)('chaos on $broker', ({ broker, concurrency }) => {
  it('loses no accepted task, dead-letters exactly the meant-to-fail ones and leaves nothing behind', async () => {
    const report = await runChaos({
      broker,
      tasks: TASKS,
      workers: 3,
      concurrency,
      seed: 20261201,
      log: (line) => console.log(line),
    });
    const rows = reportRows(report, 'test', '');
    console.log([...rows.summary, ...rows.recovery, ...report.unexpectedExits].join('\n'));

    expect(report.accepted + report.notAccepted).toBe(TASKS);
    expect(violations(report)).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(report.deadLetters.actual).toBe(report.deadLetters.expected);
    expect(report.deadLetters.expected).toBeGreaterThan(0);
    // One fault of each kind, each while work was left (a completion followed it).
    const kinds =
      broker === 'sqs'
        ? ['connection-cut', 'worker-kill']
        : ['broker-restart', 'connection-cut', 'worker-kill'];
    expect(report.recoveries.map((r) => r.kind).sort()).toEqual(kinds);
    for (const recovery of report.recoveries) expect(recovery.toNextCompletionMs).toBeDefined();
    // Every worker kept consuming through the faults (none stopped on its own: see worker-main.ts).
    expect(report.stalledWorkers).toBe(0);
  }, 240_000);
});
