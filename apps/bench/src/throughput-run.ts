import type { ThroughputRun } from './contenders.js';

/** What one throughput run came to. */
export interface ThroughputSample {
  /** Jobs/s of the enqueue step. */
  enqueue: number;
  /** Jobs/s of the process step. */
  process: number;
  /** CPU of this Node process per processed job (µs), over the process step. */
  nodeCpuUsPerJob: number;
}

/** A sample from a broker that reports its own CPU time (Redis: INFO cpu). */
export interface ThroughputSampleWithBrokerCpu extends ThroughputSample {
  /** CPU of the broker per processed job (µs), over the process step. */
  brokerCpuUsPerJob: number;
}

/**
 * Times one throughput run: `open` untimed, then `enqueue` and `process` on clocks of their own, so
 * the enqueue rate is not diluted by workers competing with it. The run is closed whatever happens.
 */
export function timeThroughputRun(run: ThroughputRun, tasks: number): Promise<ThroughputSample>;
export function timeThroughputRun(
  run: ThroughputRun,
  tasks: number,
  brokerCpuSeconds: () => Promise<number>,
): Promise<ThroughputSampleWithBrokerCpu>;
export async function timeThroughputRun(
  run: ThroughputRun,
  tasks: number,
  brokerCpuSeconds?: () => Promise<number>,
): Promise<ThroughputSample | ThroughputSampleWithBrokerCpu> {
  try {
    await run.open();
    const enqueueStarted = performance.now();
    await run.enqueue();
    const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
    // Read before this process's clocks start, so the probe's own round trip is not in the window.
    const brokerCpuBefore = brokerCpuSeconds ? await brokerCpuSeconds() : undefined;
    const nodeCpu = process.cpuUsage();
    const processStarted = performance.now();
    await run.process();
    const processSeconds = (performance.now() - processStarted) / 1000;
    const nodeCpuUsed = process.cpuUsage(nodeCpu);
    const sample: ThroughputSample = {
      enqueue: tasks / enqueueSeconds,
      process: tasks / processSeconds,
      nodeCpuUsPerJob: (nodeCpuUsed.user + nodeCpuUsed.system) / tasks,
    };
    if (!brokerCpuSeconds || brokerCpuBefore === undefined) return sample;
    const brokerCpuUsed = (await brokerCpuSeconds()) - brokerCpuBefore;
    return { ...sample, brokerCpuUsPerJob: (brokerCpuUsed * 1e6) / tasks };
  } finally {
    await run.close();
  }
}
