import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PickupHooks, PickupRun } from '../src/contenders.js';
import { timePickupRun } from '../src/pickup-run.js';

/**
 * A worker that starts each job `delays[i]` ms after it is sent (i-th send), then reports it done.
 * `inFlight` tracks how many of its jobs were sent and not yet done, at most.
 */
function fakeWorker(
  delays: number[],
  log: string[],
  inFlight = { now: 0, max: 0 },
): (hooks: PickupHooks) => PickupRun {
  return (hooks) => {
    let sent = 0;
    return {
      async start() {
        log.push('start');
      },
      async send(sentAt) {
        const delay = delays[sent++];
        if (delay === undefined) return; // lost: never done
        inFlight.now += 1;
        inFlight.max = Math.max(inFlight.max, inFlight.now);
        setTimeout(() => {
          hooks.started(sentAt);
          inFlight.now -= 1;
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
    // Fake clocks, performance included (the run reads its time from performance): each pickup then
    // takes exactly its delay, so the percentiles can be compared for equality instead of to a
    // wall-clock bound that a loaded machine overruns.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const log: string[] = [];
    const inFlight = { now: 0, max: 0 };
    // Five slow warm-up pickups (never recorded), then ten recorded ones of 1..10 ms.
    const recorded = [7, 3, 10, 1, 5, 9, 2, 8, 4, 6];
    const delays = [...Array(5).fill(500), ...recorded];
    const run = timePickupRun(fakeWorker(delays, log, inFlight), 10, 'fake: pickup job');
    await vi.runAllTimersAsync();
    const latency = await run;
    expect(log).toEqual(['start', 'close']);
    // Nearest rank of 1..10: p50 is the 5th, p99 the 10th. A warm-up counted would make p99 500.
    expect(latency).toEqual({ p50: 5, p99: 10 });
    expect(inFlight.max).toBe(1);
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
