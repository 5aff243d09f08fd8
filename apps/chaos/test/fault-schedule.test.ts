import { describe, expect, it } from 'vitest';
import { defaultFaultCounts, planFaults } from '../src/fault-schedule.js';

describe('planFaults', () => {
  const counts = { 'worker-kill': 3, 'broker-restart': 2, 'connection-cut': 3 };

  it('gives the same schedule for the same seed, and another for another seed', () => {
    const plan = planFaults({ seed: 42, counts, workers: 3 });
    expect(planFaults({ seed: 42, counts, workers: 3 })).toEqual(plan);
    expect(planFaults({ seed: 43, counts, workers: 3 })).not.toEqual(plan);
  });

  it('plans each kind as often as asked, in rising order between 25% and 85% of the run', () => {
    const plan = planFaults({ seed: 7, counts, workers: 3 });
    expect(plan.filter((f) => f.kind === 'worker-kill')).toHaveLength(3);
    expect(plan.filter((f) => f.kind === 'broker-restart')).toHaveLength(2);
    expect(plan.filter((f) => f.kind === 'connection-cut')).toHaveLength(3);
    const points = plan.map((f) => f.atProgress);
    expect(points).toEqual([...points].sort((a, b) => a - b));
    expect(Math.min(...points)).toBeGreaterThanOrEqual(0.25);
    expect(Math.max(...points)).toBeLessThanOrEqual(0.85);
    for (const fault of plan) expect(fault.workerSlot).toBeLessThan(3);
  });

  it('leaves out the kinds a broker cannot take', () => {
    const plan = planFaults({ seed: 7, counts, workers: 3, unsupported: ['broker-restart'] });
    expect(plan.map((f) => f.kind)).not.toContain('broker-restart');
    expect(plan).toHaveLength(6);
  });

  it('gives every run at least one fault of each kind and at most three broker restarts', () => {
    expect(defaultFaultCounts(1000)).toEqual({ 'worker-kill': 1, 'broker-restart': 1, 'connection-cut': 1 });
    expect(defaultFaultCounts(100_000)['broker-restart']).toBe(3);
  });
});
