import { describe, expect, it } from 'vitest';
import { bucketSecondsOf, releaseAt } from '../src/delay-buckets.js';
import { bucketFor, bucketTopic, DELAY_BUCKET_SECONDS } from '../src/index.js';

describe('delay topics', () => {
  it('are powers of two from 1 s to 16 384 s', () => {
    expect(DELAY_BUCKET_SECONDS[0]).toBe(1);
    expect(DELAY_BUCKET_SECONDS.at(-1)).toBe(16_384);
    expect(bucketTopic('conveyor.delay', 64)).toBe('conveyor.delay.64s');
    expect(bucketSecondsOf('conveyor.delay', 'conveyor.delay.64s')).toBe(64);
    expect(bucketSecondsOf('conveyor.delay', 'conveyor.delay.63s')).toBeUndefined();
    expect(bucketSecondsOf('conveyor.delay', 'other.64s')).toBeUndefined();
  });

  it('a delay goes to the longest hold not above it, so a hop never overshoots', () => {
    expect(bucketFor(100)).toBe(1);
    expect(bucketFor(1999)).toBe(1);
    expect(bucketFor(2000)).toBe(2);
    expect(bucketFor(3_600_000)).toBe(2048);
    expect(bucketFor(7 * 24 * 3_600_000)).toBe(16_384);
    for (const ms of [1000, 1500, 2500, 65_000, 3_600_000])
      expect(bucketFor(ms) * 1000).toBeLessThanOrEqual(ms);
  });

  it('a record leaves its topic at its hold or its due time, whichever comes first', () => {
    expect(releaseAt(10_000, 2, 20_000)).toBe(12_000);
    expect(releaseAt(10_000, 1, 10_300)).toBe(10_300);
  });

  it('any delay reaches its due time in at most about log2(delay) hops', () => {
    for (const delayMs of [300, 1000, 3500, 90_000, 10 * 3_600_000]) {
      let now = 0;
      const due = delayMs;
      let hops = 0;
      let seconds = bucketFor(due - now);
      for (;;) {
        now = releaseAt(now, seconds, due);
        hops += 1;
        if (due - now <= 0) break;
        seconds = bucketFor(due - now);
      }
      expect(now).toBe(due);
      expect(hops).toBeLessThanOrEqual(
        Math.ceil(Math.log2(Math.max(2, delayMs / 1000))) + 1 + Math.floor(delayMs / 16_384_000),
      );
    }
  });
});
