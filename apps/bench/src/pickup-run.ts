import { nowMs, type PickupHooks, type PickupRun } from './contenders.js';
import { percentile } from './stats.js';

/** Pings before the recorded samples of each pickup run (connections, and Redis scripts, warm). */
const PICKUP_WARMUP = 5;
/** Pause before each pickup sample, so the worker is back to waiting when the job is sent. */
const PICKUP_GAP_MS = 5;
/** A lost job fails the run instead of hanging the bench. */
const PICKUP_TIMEOUT_MS = 10_000;

/** Idle pickup latency of one run (ms, send to handler start): nearest-rank p50 and p99 of its samples. */
export interface PickupLatency {
  p50: number;
  p99: number;
}

/**
 * Times one pickup run: `start` brings up an idle worker that reports through the hooks it is given;
 * `samples` jobs (after a few unrecorded ones) are then sent one at a time, each only once the
 * previous one is done, so every job finds the worker idle. `what` names the job in the timeout
 * error, e.g. `@conveyor/redis: pickup job`. The run is closed whatever happens.
 */
export async function timePickupRun(
  start: (hooks: PickupHooks) => PickupRun,
  samples: number,
  what: string,
): Promise<PickupLatency> {
  const latencies: number[] = [];
  let recording = false;
  let onDone: (() => void) | undefined;
  const run = start({
    started(sentAt) {
      const ms = nowMs() - sentAt;
      if (recording) latencies.push(ms);
    },
    done: () => onDone?.(),
  });
  try {
    await run.start();
    for (let i = 0; i < PICKUP_WARMUP + samples; i++) {
      recording = i >= PICKUP_WARMUP;
      await new Promise((resolve) => setTimeout(resolve, PICKUP_GAP_MS));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = new Promise<void>((resolve, reject) => {
        onDone = resolve;
        timer = setTimeout(
          () => reject(new Error(`${what} not done after ${PICKUP_TIMEOUT_MS} ms`)),
          PICKUP_TIMEOUT_MS,
        );
      });
      try {
        await run.send(nowMs());
        await done;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await run.close();
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
