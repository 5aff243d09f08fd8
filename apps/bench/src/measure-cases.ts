import type { PickupLatency } from './pickup-run.js';
import { type Figure, figure, formatCount, median, repeat } from './stats.js';
import type { ThroughputSample } from './throughput-run.js';

/** What every broker suite reports of one contender at one level (concurrency or prefetch). */
export interface CaseFigures {
  /** Jobs/s of the bulk enqueue, as many batches in flight as the level (capped at N / 500). */
  enqueue: Figure;
  /** Jobs/s of a worker draining N queued jobs. */
  process: Figure;
  /** CPU of this Node process per processed job (µs), median of runs. */
  nodeCpuUsPerJob: number;
  /** Idle pickup latency (ms): median over runs of each run's p50 and p99. */
  pickupP50: Figure;
  pickupP99: Figure;
}

/** What every broker suite is asked to do; each adds where its broker is. */
export interface BrokerSuiteOptions<Id extends string> {
  /** Jobs (messages, on AMQP) per throughput run. */
  tasks: number;
  /** Measured runs per case (after one warm-up); the median is reported. */
  runs: number;
  /** Jobs sent one at a time per pickup-latency run. */
  samples: number;
  /** Contenders to run (default all). */
  contenders?: readonly Id[];
  /** Progress lines. */
  log?: (line: string) => void;
}

/** A suite's result row: one contender at one level (which the suite names: concurrency, prefetch). */
export interface CaseRow<Id extends string = string> extends CaseFigures {
  contender: Id;
  name: string;
}

/** How a suite runs one case on its broker; `measureCases` decides the order and the repetitions. */
export interface CasePlan<Contender, Sample extends ThroughputSample> {
  levels: readonly number[];
  contenders: readonly Contender[];
  /** Measured runs per case, each series after one unmeasured warm-up. */
  runs: number;
  throughput(contender: Contender, level: number): Promise<Sample>;
  pickup(contender: Contender, level: number): Promise<PickupLatency>;
}

export interface MeasuredCase<Contender, Sample extends ThroughputSample> {
  contender: Contender;
  level: number;
  figures: CaseFigures;
  /** The samples behind `figures`, for what a suite reports beyond them (the broker's CPU). */
  throughput: Sample[];
}

/**
 * Every contender at every level, one case after the other, never two at once (they would compete
 * for the CPU and the broker): the throughput runs, then the pickup runs. Yields each case as soon
 * as it is measured, so the suite can report progress while the rest runs.
 */
export async function* measureCases<Contender, Sample extends ThroughputSample>(
  plan: CasePlan<Contender, Sample>,
): AsyncGenerator<MeasuredCase<Contender, Sample>> {
  for (const level of plan.levels) {
    for (const contender of plan.contenders) {
      const throughput = await repeat(plan.runs, () => plan.throughput(contender, level));
      const pickup = await repeat(plan.runs, () => plan.pickup(contender, level));
      const figures: CaseFigures = {
        enqueue: figure(throughput.map((t) => t.enqueue)),
        process: figure(throughput.map((t) => t.process)),
        nodeCpuUsPerJob: median(throughput.map((t) => t.nodeCpuUsPerJob)),
        pickupP50: figure(pickup.map((p) => p.p50)),
        pickupP99: figure(pickup.map((p) => p.p99)),
      };
      yield { contender, level, figures, throughput };
    }
  }
}

/** The end of a case's progress line. */
export function caseSummary(figures: CaseFigures): string {
  return `enqueue ${formatCount(figures.enqueue.median)}/s, process ${formatCount(figures.process.median)}/s, pickup p50 ${figures.pickupP50.median.toFixed(2)} ms p99 ${figures.pickupP99.median.toFixed(2)} ms`;
}
