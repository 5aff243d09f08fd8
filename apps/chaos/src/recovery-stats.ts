import type { FaultKind } from './fault-schedule.js';

/** A fault as it happened. */
export interface InjectedFault {
  readonly kind: FaultKind;
  /** When the injection began (epoch ms): the SIGKILL, the broker stop, the cut. */
  readonly startedAt: number;
  /** When it was over: the kill done, the broker answering again, the cut done. */
  readonly endedAt: number;
  /** What was done, for the report (e.g. `w1.2`, `down 1.8 s`). */
  readonly detail: string;
}

/** How the run recovered from one fault. */
export interface FaultRecovery extends InjectedFault {
  /** From the end of the fault to the next task completion; undefined when none followed. */
  readonly toNextCompletionMs: number | undefined;
  /**
   * From the end of the fault to the start of the first window (RATE_WINDOW_MS) whose completion
   * rate is at least RECOVERED_SHARE of the rate in the window before the fault; undefined when
   * the run ended first.
   */
  readonly toRateMs: number | undefined;
}

/** The window over which rates are compared. */
export const RATE_WINDOW_MS = 1000;
/** A window at this share of the pre-fault rate counts as recovered (rates are noisy on 2 shared cores). */
export const RECOVERED_SHARE = 0.8;

/** Times of the first completion of each task, sorted (epoch ms). */
export type CompletionTimes = readonly number[];

/** Completions in [from, to). */
export function completionsBetween(times: CompletionTimes, from: number, to: number): number {
  return lowerBound(times, to) - lowerBound(times, from);
}

function lowerBound(times: CompletionTimes, value: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (times[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Measures each fault's recovery from the completion times. */
export function recoveries(times: CompletionTimes, faults: readonly InjectedFault[]): FaultRecovery[] {
  const last = times.at(-1) ?? 0;
  return faults.map((fault) => {
    const before = completionsBetween(times, fault.startedAt - RATE_WINDOW_MS, fault.startedAt);
    const needed = Math.ceil(before * RECOVERED_SHARE);
    const firstAfter = lowerBound(times, fault.endedAt);
    let toRateMs: number | undefined;
    // Candidate windows start at the fault's end, then at each completion after it.
    for (let i = firstAfter - 1; i < times.length; i += 1) {
      const start = i < firstAfter ? fault.endedAt : times[i]!;
      if (start + RATE_WINDOW_MS > last) break;
      if (completionsBetween(times, start, start + RATE_WINDOW_MS) >= needed) {
        toRateMs = start - fault.endedAt;
        break;
      }
    }
    const next = times[firstAfter];
    return { ...fault, toNextCompletionMs: next === undefined ? undefined : next - fault.endedAt, toRateMs };
  });
}

/** Completions per second from `from` to `to`. */
export function ratePerSecond(times: CompletionTimes, from: number, to: number): number {
  if (to <= from) return 0;
  return (completionsBetween(times, from, to) * 1000) / (to - from);
}

/**
 * The fault-free baseline (from 5% of the completions to the first fault) and the rate over the
 * stretch with faults (from the first fault to the recovery from the last one).
 */
export function throughput(
  times: CompletionTimes,
  measured: readonly FaultRecovery[],
): { baseline: number; underFault: number | undefined } {
  if (times.length === 0) return { baseline: 0, underFault: undefined };
  const from = times[Math.floor(times.length * 0.05)]!;
  if (measured.length === 0)
    return { baseline: ratePerSecond(times, from, times.at(-1)!), underFault: undefined };
  const first = measured[0]!;
  const lastFault = measured.at(-1)!;
  const end = lastFault.endedAt + (lastFault.toRateMs ?? lastFault.toNextCompletionMs ?? 0);
  return {
    baseline: ratePerSecond(times, from, first.startedAt),
    underFault: ratePerSecond(times, first.startedAt, Math.max(end, first.startedAt + 1)),
  };
}

/** The median of some numbers (undefined for none). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
