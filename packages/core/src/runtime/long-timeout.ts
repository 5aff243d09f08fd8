/**
 * The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days). A longer one fires after
 * 1 ms with a TimeoutOverflowWarning, so a task sent with a time limit of 35 days (Celery's
 * `time_limit=3_000_000`) was killed at once.
 */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** A timer set by `setLongTimeout`. */
export interface LongTimeout {
  clear(): void;
}

/**
 * `setTimeout` for any delay: a delay beyond MAX_TIMEOUT_MS waits in hops of at most that, and an
 * infinite one (a limit of 1e400 seconds reads as Infinity) never fires.
 */
export function setLongTimeout(callback: () => void, ms: number): LongTimeout {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (remaining: number): void => {
    timer =
      remaining > MAX_TIMEOUT_MS
        ? setTimeout(() => arm(remaining - MAX_TIMEOUT_MS), MAX_TIMEOUT_MS)
        : setTimeout(callback, remaining);
  };
  if (ms !== Number.POSITIVE_INFINITY) arm(ms);
  return { clear: () => clearTimeout(timer) };
}
