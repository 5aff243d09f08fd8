import type { ThroughputRun } from './contenders.js';
import type { ThroughputSample } from './throughput-run.js';

/**
 * When a Kafka drain really starts: the first message reaching a handler. A consumer that starts
 * must first join its group (JoinGroup, SyncGroup, OffsetFetch) and fetch, which takes a few
 * hundred ms however fast the client is; on N = 20,000 that would be a large part of the window.
 * Every contender calls `started()` as its handler begins, so the process rate is the drain, and
 * the start-up is reported apart.
 */
export class DrainClock {
  #startedAt: number | undefined;
  #cpu: NodeJS.CpuUsage | undefined;

  /** Called by every handler; only the first call counts. */
  started(): void {
    if (this.#startedAt !== undefined) return;
    this.#startedAt = performance.now();
    this.#cpu = process.cpuUsage();
  }

  /** `performance.now()` of the first handler, if one ran. */
  get startedAt(): number | undefined {
    return this.#startedAt;
  }

  /** This process's CPU when the first handler ran. */
  get cpuAtStart(): NodeJS.CpuUsage | undefined {
    return this.#cpu;
  }
}

/** A throughput sample of the Kafka suite: the drain rate, and how long the consumer took to start. */
export interface KafkaThroughputSample extends ThroughputSample {
  /** ms from `process()` (consumer start) to the first message in a handler: group join and first fetch. */
  startupMs: number;
}

/**
 * Times one Kafka throughput run: `open` untimed, `enqueue` on its own clock, then `process` timed
 * from the first message in a handler (the clock's start) to the N-th message done; CPU per message
 * over the same window. The run is closed whatever happens.
 */
export async function timeKafkaThroughputRun(
  run: ThroughputRun,
  tasks: number,
  clock: DrainClock,
): Promise<KafkaThroughputSample> {
  try {
    await run.open();
    const enqueueStarted = performance.now();
    await run.enqueue();
    const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
    const processCalled = performance.now();
    await run.process();
    const processEnded = performance.now();
    const cpuUsed = process.cpuUsage(clock.cpuAtStart);
    const startedAt = clock.startedAt;
    if (startedAt === undefined)
      throw new Error('the run finished without any handler calling clock.started()');
    return {
      enqueue: tasks / enqueueSeconds,
      process: tasks / ((processEnded - startedAt) / 1000),
      nodeCpuUsPerJob: (cpuUsed.user + cpuUsed.system) / tasks,
      startupMs: startedAt - processCalled,
    };
  } finally {
    await run.close();
  }
}
