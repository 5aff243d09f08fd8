import { describe, expect, it } from 'vitest';
import { median, recoveries, throughput } from '../src/recovery-stats.js';

/** One completion every `stepMs` from `from` (inclusive) to `to` (exclusive). */
function steady(from: number, to: number, stepMs: number): number[] {
  const times: number[] = [];
  for (let t = from; t < to; t += stepMs) times.push(t);
  return times;
}

describe('recoveries', () => {
  // 100 completions/s, a 2 s outage from 10 s (nothing completes), 50/s for 2 s, then 100/s again.
  const times = [...steady(0, 10_000, 10), ...steady(12_500, 14_500, 20), ...steady(14_500, 20_000, 10)];
  const outage = { kind: 'broker-restart' as const, startedAt: 10_000, endedAt: 12_000, detail: 'down 2 s' };

  it('measures from the end of the fault to the next completion and to a window back at 80% of the rate before', () => {
    const [measured] = recoveries(times, [outage]);
    expect(measured!.toNextCompletionMs).toBe(500);
    // The window [14.1 s, 15.1 s) is the first with 80: 20 at 50/s, then 60 at 100/s.
    expect(measured!.toRateMs).toBe(2100);
  });

  it('says undefined when nothing completed after the fault', () => {
    const [measured] = recoveries(times, [{ ...outage, startedAt: 30_000, endedAt: 30_100 }]);
    expect(measured!.toNextCompletionMs).toBeUndefined();
    expect(measured!.toRateMs).toBeUndefined();
  });

  it('compares the fault-free baseline with the stretch under fault', () => {
    const rates = throughput(times, recoveries(times, [outage]));
    expect(rates.baseline).toBeCloseTo(100, 0);
    expect(rates.underFault).toBeLessThan(50);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});
