import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  InvalidOptionError,
  type RetryPolicy,
  resolveRetryPolicy,
  retryDelayMs,
} from '../src/index.js';

const policy = (changes: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxRetries: 5,
  initialDelayMs: 100,
  factor: 2,
  maxDelayMs: 1000,
  jitter: 'none',
  ...changes,
});

const fixed = (value: number) => (): number => value;

describe('retryDelayMs', () => {
  it('grows exponentially from initialDelayMs without jitter', () => {
    const p = policy();
    expect([1, 2, 3, 4].map((retry) => retryDelayMs(p, retry))).toEqual([100, 200, 400, 800]);
  });

  it('caps each delay at maxDelayMs', () => {
    const p = policy();
    expect(retryDelayMs(p, 5)).toBe(1000);
    expect(retryDelayMs(p, 50)).toBe(1000);
  });

  it('stays a number after the exponent overflows (no NaN from 0 × Infinity)', () => {
    expect(retryDelayMs(policy({ initialDelayMs: 0 }), 2000)).toBe(0);
    expect(retryDelayMs(policy({ initialDelayMs: 0, jitter: 'equal' }), 2000, fixed(0.5))).toBe(0);
    expect(retryDelayMs(policy(), 2000)).toBe(1000);
  });

  it('keeps the delay constant with factor 1', () => {
    const p = policy({ factor: 1 });
    expect([1, 2, 3].map((retry) => retryDelayMs(p, retry))).toEqual([100, 100, 100]);
  });

  it('treats retry 0 like the first retry', () => {
    expect(retryDelayMs(policy(), 0)).toBe(100);
  });

  it('does not call the random function without jitter', () => {
    let calls = 0;
    retryDelayMs(policy(), 3, () => {
      calls += 1;
      return 0.5;
    });
    expect(calls).toBe(0);
  });

  it('picks uniformly from 0 to the delay with full jitter', () => {
    const p = policy({ jitter: 'full' });
    expect(retryDelayMs(p, 3, fixed(0))).toBe(0);
    expect(retryDelayMs(p, 3, fixed(0.25))).toBe(100);
    expect(retryDelayMs(p, 3, fixed(0.999999))).toBe(400);
  });

  it('keeps half the delay and randomizes the other half with equal jitter', () => {
    const p = policy({ jitter: 'equal' });
    expect(retryDelayMs(p, 3, fixed(0))).toBe(200);
    expect(retryDelayMs(p, 3, fixed(0.5))).toBe(300);
    expect(retryDelayMs(p, 3, fixed(0.999999))).toBe(400);
  });

  it('applies jitter to the capped delay, never above maxDelayMs', () => {
    expect(retryDelayMs(policy({ jitter: 'full' }), 10, fixed(0.999999))).toBe(1000);
    expect(retryDelayMs(policy({ jitter: 'equal' }), 10, fixed(0))).toBe(500);
    expect(retryDelayMs(policy({ jitter: 'equal' }), 10, fixed(0.999999))).toBe(1000);
  });

  it('uses Math.random by default and stays in the jitter range', () => {
    const p = policy({ jitter: 'equal' });
    for (let i = 0; i < 200; i++) {
      const delay = retryDelayMs(p, 2);
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(200);
    }
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(retryDelayMs(policy({ jitter: 'full' }), 2, fixed(0.123456)))).toBe(true);
  });
});

describe('resolveRetryPolicy', () => {
  it('returns the defaults for no input', () => {
    expect(resolveRetryPolicy(undefined)).toEqual(DEFAULT_RETRY_POLICY);
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxRetries: 3,
      initialDelayMs: 1000,
      factor: 2,
      maxDelayMs: 600_000,
      jitter: 'equal',
    });
  });

  it('fills what is missing from the base policy', () => {
    const base = policy({ maxRetries: 9 });
    expect(resolveRetryPolicy({ initialDelayMs: 5 }, base)).toEqual({ ...base, initialDelayMs: 5 });
  });

  it('does not modify the base policy', () => {
    const base = policy();
    resolveRetryPolicy({ maxRetries: 1 }, base);
    expect(base.maxRetries).toBe(5);
  });

  it('accepts maxRetries 0 (no retries)', () => {
    expect(resolveRetryPolicy({ maxRetries: 0 }).maxRetries).toBe(0);
  });

  it.each<[Partial<RetryPolicy>, string]>([
    [{ maxRetries: -1 }, 'retry.maxRetries'],
    [{ maxRetries: 1.5 }, 'retry.maxRetries'],
    [{ maxRetries: Number.NaN }, 'retry.maxRetries'],
    [{ initialDelayMs: -1 }, 'retry.initialDelayMs'],
    [{ initialDelayMs: Number.NaN }, 'retry.initialDelayMs'],
    [{ factor: 0.5 }, 'retry.factor'],
    [{ factor: Number.NaN }, 'retry.factor'],
    [{ maxDelayMs: 10, initialDelayMs: 20 }, 'retry.maxDelayMs'],
    [{ jitter: 'some' as RetryPolicy['jitter'] }, 'retry.jitter'],
  ])('rejects %j with InvalidOptionError naming %s', (input, option) => {
    let error: unknown;
    try {
      resolveRetryPolicy(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect((error as InvalidOptionError).message).toContain(option);
  });

  it('prefixes errors with the path it is given', () => {
    expect(() => resolveRetryPolicy({ factor: 0 }, DEFAULT_RETRY_POLICY, 'tasks.add.retry')).toThrow(
      expect.objectContaining({ option: 'tasks.add.retry.factor' }),
    );
  });
});
