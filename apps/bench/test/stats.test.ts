import { describe, expect, it } from 'vitest';
import { figure, percentile } from '../src/stats.js';

describe('stats', () => {
  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i);
    expect(percentile(values, 50)).toBe(100);
    expect(percentile(values, 99)).toBe(198);
    expect(percentile([7], 99)).toBe(7);
  });

  it('reports the median of the runs and keeps them in the order they ran', () => {
    expect(figure([30, 10, 20])).toEqual({ median: 20, runs: [30, 10, 20] });
    expect(figure([4, 1, 3, 2]).median).toBe(2.5);
  });
});
