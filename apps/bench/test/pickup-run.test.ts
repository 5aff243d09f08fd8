import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PickupHooks, PickupRun } from '../src/contenders.js';
import { timePickupRun } from '../src/pickup-run.js';

/** A worker that starts each job `delays[i]` ms after it is sent (i-th send), then reports it done. */
function fakeWorker(delays: number[], log: string[]): (hooks: PickupHooks) => PickupRun {
  return (hooks) => {
    let sent = 0;
    return {
      async start() {
        log.push('start');
      },
      async send(sentAt) {
        const delay = delays[sent++];
        if (delay === undefined) return; // lost: never done
        setTimeout(() => {
          hooks.started(sentAt);
          hooks.done();
        }, delay);
      },
      async close() {
        log.push('close');
      },
    };
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('timePickupRun', () => {
  it('sends one job at a time and leaves the warm-up jobs out of the percentiles', async () => {
    const log: string[] = [];
    // Five slow warm-up pickups, then ten fast ones.
    const delays = [...Array(5).fill(60), ...Array(10).fill(0)];
    const latency = await timePickupRun(fakeWorker(delays, log), 10, 'fake: pickup job');
    expect(log).toEqual(['start', 'close']);
    expect(latency.p50).toBeGreaterThanOrEqual(0);
    expect(latency.p99).toBeLessThan(50);
    expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
  });

  it('fails a run whose job is never done, naming it, and closes the run', async () => {
    vi.useFakeTimers();
    const log: string[] = [];
    const run = timePickupRun(fakeWorker([0, 0], log), 10, 'fake: pickup job');
    const failed = expect(run).rejects.toThrow('fake: pickup job not done after 10000 ms');
    await vi.advanceTimersByTimeAsync(11_000);
    await failed;
    expect(log).toEqual(['start', 'close']);
  });
});
