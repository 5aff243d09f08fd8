import { InvalidOptionError } from '../errors/transport-errors.js';

/** How failed attempts are retried. Retries re-publish the task with a delay; nothing waits in memory. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 disables retrying. */
  maxRetries: number;
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Each further retry multiplies the delay by this. */
  factor: number;
  /** Upper bound of one delay. */
  maxDelayMs: number;
  /**
   * `equal`: half fixed, half random (default: spreads a thundering herd yet keeps a floor);
   * `full`: uniformly random up to the delay; `none`: exact.
   */
  jitter: 'equal' | 'full' | 'none';
}

/** The policy of a task that sets none: 3 retries (Celery's max_retries), 1 s doubling to 10 min, equal jitter. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 3,
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 10 * 60_000,
  jitter: 'equal',
});

/** Fills a partial policy with defaults and validates it; errors name the option path. */
export function resolveRetryPolicy(
  input: Partial<RetryPolicy> | undefined,
  base: Readonly<RetryPolicy> = DEFAULT_RETRY_POLICY,
  path = 'retry',
): RetryPolicy {
  const policy = { ...base, ...input };
  if (!Number.isInteger(policy.maxRetries) || policy.maxRetries < 0) {
    throw new InvalidOptionError(`${path}.maxRetries`, 'must be an integer >= 0');
  }
  if (!(policy.initialDelayMs >= 0)) throw new InvalidOptionError(`${path}.initialDelayMs`, 'must be >= 0');
  if (!(policy.factor >= 1)) throw new InvalidOptionError(`${path}.factor`, 'must be >= 1');
  if (!(policy.maxDelayMs >= policy.initialDelayMs)) {
    throw new InvalidOptionError(`${path}.maxDelayMs`, 'must be >= initialDelayMs');
  }
  if (!['equal', 'full', 'none'].includes(policy.jitter)) {
    throw new InvalidOptionError(`${path}.jitter`, 'must be "equal", "full" or "none"');
  }
  return policy;
}

/** Delay before retry number `retry` (1 for the first retry). */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  // factor ** n overflows to Infinity after ~1,000 retries, and 0 × Infinity is NaN.
  const grown =
    policy.initialDelayMs === 0 ? 0 : policy.initialDelayMs * policy.factor ** Math.max(0, retry - 1);
  const ceiling = Math.min(policy.maxDelayMs, grown);
  switch (policy.jitter) {
    case 'none':
      return Math.round(ceiling);
    case 'full':
      return Math.round(random() * ceiling);
    default:
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }
}
