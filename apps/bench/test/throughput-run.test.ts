import { describe, expect, it } from 'vitest';
import type { ThroughputRun } from '../src/contenders.js';
import { timeThroughputRun } from '../src/throughput-run.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A run whose steps take known times and record the order they ran in. */
function fakeRun(steps: string[], failProcess = false): ThroughputRun {
  return {
    async open() {
      steps.push('open');
      await sleep(300);
    },
    async enqueue() {
      steps.push('enqueue');
      await sleep(50);
    },
    async process() {
      steps.push('process');
      await sleep(100);
      if (failProcess) throw new Error('worker crashed');
    },
    async close() {
      steps.push('close');
    },
  };
}

describe('timeThroughputRun', () => {
  it('times enqueue and process apart, leaving open out, and closes the run', async () => {
    const steps: string[] = [];
    const sample = await timeThroughputRun(fakeRun(steps), 1000);
    expect(steps).toEqual(['open', 'enqueue', 'process', 'close']);
    // Timers fire late, never (by more than a ms) early: each step's rate is bounded by its sleep.
    expect(sample.enqueue).toBeLessThanOrEqual(1000 / 0.049);
    expect(sample.process).toBeLessThanOrEqual(1000 / 0.099);
    // Had the 300 ms open been timed, the enqueue would have taken longer than that.
    expect(sample.enqueue).toBeGreaterThan(1000 / 0.3);
    expect(sample.nodeCpuUsPerJob).toBeGreaterThanOrEqual(0);
    expect(sample).not.toHaveProperty('brokerCpuUsPerJob');
  });

  it('reads the broker CPU around the process step, per job in µs', async () => {
    const steps: string[] = [];
    const readings = [12.5, 13];
    const sample = await timeThroughputRun(fakeRun(steps), 1000, async () => {
      steps.push('broker cpu');
      return readings.shift() ?? Number.NaN;
    });
    expect(steps).toEqual(['open', 'enqueue', 'broker cpu', 'process', 'broker cpu', 'close']);
    expect(sample.brokerCpuUsPerJob).toBe(500);
  });

  it('closes the run when a step fails', async () => {
    const steps: string[] = [];
    await expect(timeThroughputRun(fakeRun(steps, true), 1000)).rejects.toThrow('worker crashed');
    expect(steps.at(-1)).toBe('close');
  });
});
