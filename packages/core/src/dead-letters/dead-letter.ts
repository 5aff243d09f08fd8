import { createHash } from 'node:crypto';
import { DEAD_LETTER_TRUNCATED_HEADER, DEAD_LETTERED_AT_HEADER } from '../delivery/dead-letter-message.js';
import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  RAW_CONTENT_TYPE,
} from '../transport/delivery.js';

/**
 * One letter of a dead-letter queue, as the dead-letter tooling reports it. `key` names it for
 * `show`: the task id, or for a letter without one (garbage that never decoded) a fingerprint of
 * its bytes, `raw:<12 hex>`, stable from one listing to the next.
 */
export interface DeadLetter {
  /** Task id, or `raw:<fingerprint>` for a letter that has none. */
  key: string;
  /** Position in this pass over the queue, from 1 (changes as letters come and go). */
  index: number;
  /** The task id (header `id`), or null. */
  taskId: string | null;
  /** The task name (header `task`), or null. */
  task: string | null;
  /** Why it was dead-lettered (x-conveyor-dead-letter-reason), or null when the broker moved it on its own. */
  reason: string | null;
  /** The queue it came from (x-conveyor-dead-letter-source), or null when unknown. */
  sourceQueue: string | null;
  /** When it was dead-lettered (x-conveyor-dead-lettered-at), or null when the letter does not say. */
  deadLetteredAt: Date | null;
  /** Deliveries of the letter from the dead-letter queue, this one included (browsing counts). */
  deliveryCount: number;
  contentType: string | null;
  /** Byte length of the payload as stored. */
  bytes: number;
  /**
   * `task`: a whole task message, which redrive re-publishes. `raw`: bytes that never decoded (or a
   * letter that is not a task), redriven only when asked. `truncated`: a payload cut to fit the
   * dead-letter queue, never redriven (it is no longer the task).
   */
  kind: 'task' | 'raw' | 'truncated';
  /** The letter itself (null only when the transport could not decode even the envelope). */
  message: WireMessage | null;
}

/** Builds the report of one letter from what its delivery holds. */
export function describeDeadLetter(
  message: WireMessage | null,
  raw: Uint8Array | null,
  deliveryCount: number,
  index: number,
): DeadLetter {
  const headers: Record<string, JsonValue> = message?.headers ?? {};
  const taskId = stringHeader(headers.id);
  const task = stringHeader(headers.task);
  const body = message?.body ?? raw ?? new Uint8Array(0);
  const contentType = message?.properties.content_type ?? null;
  const kind: DeadLetter['kind'] =
    headers[DEAD_LETTER_TRUNCATED_HEADER] !== undefined
      ? 'truncated'
      : message !== null && taskId !== null && task !== null && contentType !== RAW_CONTENT_TYPE
        ? 'task'
        : 'raw';
  return {
    key: kind === 'raw' || taskId === null ? fingerprint(body) : taskId,
    index,
    taskId,
    task,
    reason: stringHeader(headers[DEAD_LETTER_REASON_HEADER]),
    sourceQueue: stringHeader(headers[DEAD_LETTER_SOURCE_HEADER]),
    deadLetteredAt: dateHeader(headers[DEAD_LETTERED_AT_HEADER]),
    deliveryCount,
    contentType,
    bytes: body.byteLength,
    kind,
    message,
  };
}

/** `raw:` and the first 12 hex digits of the payload's SHA-256: the same bytes, the same key. */
export function fingerprint(body: Uint8Array): string {
  return `raw:${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
}

function stringHeader(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function dateHeader(value: JsonValue | undefined): Date | null {
  if (typeof value !== 'string') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
