import type { JsonValue } from '../message/json-value.js';

/** What a handler knows about the attempt it runs. */
export interface TaskContext {
  /** Task id (stable across retries). */
  readonly id: string;
  readonly name: string;
  /** Retries before this attempt (0 on the first). */
  readonly retries: number;
  /** Times the broker has delivered this message (redeliveries after a crash add to it). */
  readonly deliveryCount: number;
  /** Keyword arguments sent by the producer (Python callers may use them). */
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** Headers that are not Celery's own. */
  readonly headers: Readonly<Record<string, JsonValue>>;
  /** Aborted at the soft time limit, at the hard limit, and at a forced shutdown. */
  readonly signal: AbortSignal;
}
