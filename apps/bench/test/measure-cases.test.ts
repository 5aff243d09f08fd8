import { describe, expect, it } from 'vitest';
import { caseSummary, measureCases } from '../src/measure-cases.js';

describe('measureCases', () => {
  it('runs each case alone, level by level, throughput then pickup, and reports figures without the warm-ups', async () => {
    const calls: string[] = [];
    const count = new Map<string, number>();
    /** The warm-up (first call of a series) gives 1000; the measured runs 1, 2, 3... */
    const next = (key: string): number => {
      const n = count.get(key) ?? 0;
      count.set(key, n + 1);
      return n === 0 ? 1000 : n;
    };
    const cases = [];
    for await (const measured of measureCases({
      levels: [1, 50],
      contenders: ['a', 'b'],
      runs: 3,
      async throughput(contender, level) {
        calls.push(`throughput ${contender}@${level}`);
        const n = next(`t ${contender}@${level}`);
        return { enqueue: n * 100, process: n * 10, nodeCpuUsPerJob: n };
      },
      async pickup(contender, level) {
        calls.push(`pickup ${contender}@${level}`);
        const n = next(`p ${contender}@${level}`);
        return { p50: n, p99: n * 2 };
      },
    })) {
      cases.push(measured);
    }
    const series = (kind: string, c: string): string[] => Array(4).fill(`${kind} ${c}`);
    expect(calls).toEqual([
      ...series('throughput', 'a@1'),
      ...series('pickup', 'a@1'),
      ...series('throughput', 'b@1'),
      ...series('pickup', 'b@1'),
      ...series('throughput', 'a@50'),
      ...series('pickup', 'a@50'),
      ...series('throughput', 'b@50'),
      ...series('pickup', 'b@50'),
    ]);
    expect(cases.map((c) => `${c.contender}@${c.level}`)).toEqual(['a@1', 'b@1', 'a@50', 'b@50']);
    const first = cases[0]!;
    expect(first.throughput).toHaveLength(3);
    expect(first.figures).toEqual({
      enqueue: { median: 200, runs: [100, 200, 300] },
      process: { median: 20, runs: [10, 20, 30] },
      nodeCpuUsPerJob: 2,
      pickupP50: { median: 2, runs: [1, 2, 3] },
      pickupP99: { median: 4, runs: [2, 4, 6] },
    });
    expect(caseSummary(first.figures)).toBe('enqueue 200/s, process 20/s, pickup p50 2.00 ms p99 4.00 ms');
  });
});
