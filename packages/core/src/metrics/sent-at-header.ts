import type { JsonValue } from '../message/json-value.js';

/**
 * Header in which a Client with `sentTimestamp` writes when it sent the message, in epoch seconds
 * (the unit of Celery's event timestamps). Celery's protocol carries no send time, so end-to-end
 * latency is measured only for messages that have it; re-published retries keep it.
 */
export const SENT_AT_HEADER = 'x-conveyor-sent-at';

/** The send time in epoch milliseconds, or undefined when the header is absent or not a finite number. */
export function sentAtOf(headers: Readonly<Record<string, JsonValue>>): number | undefined {
  const value = headers[SENT_AT_HEADER];
  return typeof value === 'number' && Number.isFinite(value) ? value * 1000 : undefined;
}
