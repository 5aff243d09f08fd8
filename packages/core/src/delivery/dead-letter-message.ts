import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  RAW_CONTENT_TYPE,
} from '../transport/delivery.js';

/**
 * Header on a dead letter whose payload was cut to fit the transport's limit: the byte length of
 * the payload before the cut (the body holds its first bytes).
 */
export const DEAD_LETTER_TRUNCATED_HEADER = 'x-conveyor-dead-letter-truncated';
/**
 * Header on every dead letter Conveyor writes: when it was dead-lettered, an ISO 8601 UTC time.
 * The dead-letter tooling (`since=`) filters on it; letters the broker moved on its own (an SQS
 * redrive policy, a quorum queue's delivery limit) and letters written before it existed lack it.
 */
export const DEAD_LETTERED_AT_HEADER = 'x-conveyor-dead-lettered-at';
/** Header on a truncated dead letter: the payload's own `content_type` (the letter says octet-stream). */
export const DEAD_LETTER_CONTENT_TYPE_HEADER = 'x-conveyor-dead-letter-content-type';
/** Header on a truncated dead letter: the payload's own `content_encoding` (the letter says binary). */
export const DEAD_LETTER_CONTENT_ENCODING_HEADER = 'x-conveyor-dead-letter-content-encoding';

/** What a dead letter is made of. */
export interface DeadLetterSource {
  /** Queue the message is leaving. */
  queue: string;
  /** Why it is dead-lettered; stored in `x-conveyor-dead-letter-reason`. */
  reason: string;
  /** The decoded message, or null when its payload could not be decoded. */
  message: WireMessage | null;
  /**
   * The payload exactly as the broker held it, used only when `message` is null; a function is
   * called only then (reading it may copy the payload).
   */
  raw?: Uint8Array | null | (() => Uint8Array | null) | undefined;
  /**
   * The largest letter the dead-letter queue takes: the transport's `capabilities.maxMessageBytes`.
   * A longer payload is truncated so the letter is always stored (see deadLetterMessage). Without
   * it nothing is cut, and a letter above the limit is refused by the publish checks.
   */
  maxBytes?: number | undefined;
}

/**
 * The one layout of a dead-lettered message, whichever transport or core path writes it: the
 * original message with the reason, source queue and time added to its headers, or, for a payload
 * that could not be decoded, its raw bytes unchanged as `application/octet-stream` with the same
 * three headers (so nothing about the garbage is lost or re-encoded).
 *
 * A payload that would not fit in `maxBytes` is truncated rather than refused: a letter the broker
 * refuses leaves the message in its queue, redelivered after every visibility timeout for ever. The
 * letter keeps every header and property, holds the first bytes of the payload as
 * `application/octet-stream` / `binary` (a cut JSON document is no longer JSON), records the
 * original length, content type and encoding in DEAD_LETTER_TRUNCATED_HEADER,
 * DEAD_LETTER_CONTENT_TYPE_HEADER and DEAD_LETTER_CONTENT_ENCODING_HEADER, and ends the reason with
 * `; payload truncated from N to M bytes`. M leaves room for the letter's headers and properties as
 * JSON, so the whole letter is within `maxBytes` even on a transport that counts more than the body.
 */
export function deadLetterMessage(source: DeadLetterSource): WireMessage {
  const extra: Record<string, JsonValue> = {
    [DEAD_LETTER_REASON_HEADER]: String(source.reason),
    [DEAD_LETTER_SOURCE_HEADER]: source.queue,
    [DEAD_LETTERED_AT_HEADER]: new Date().toISOString(),
  };
  const letter: WireMessage = source.message
    ? { ...source.message, headers: { ...source.message.headers, ...extra } }
    : {
        headers: extra,
        properties: { content_type: RAW_CONTENT_TYPE, content_encoding: 'binary' },
        body: (typeof source.raw === 'function' ? source.raw() : source.raw) ?? new Uint8Array(0),
      };
  const maxBytes = source.maxBytes;
  if (maxBytes === undefined || letter.body.byteLength <= maxBytes) return letter;
  return truncated(letter, maxBytes);
}

function truncated(letter: WireMessage, maxBytes: number): WireMessage {
  const original = letter.body.byteLength;
  const headers: Record<string, JsonValue> = {
    ...letter.headers,
    [DEAD_LETTER_TRUNCATED_HEADER]: original,
    [DEAD_LETTER_CONTENT_TYPE_HEADER]: letter.properties.content_type,
    [DEAD_LETTER_CONTENT_ENCODING_HEADER]: letter.properties.content_encoding,
  };
  const properties = { ...letter.properties, content_type: RAW_CONTENT_TYPE, content_encoding: 'binary' };
  const reason = String(headers[DEAD_LETTER_REASON_HEADER]);
  // The reason names the kept length, which depends on the reason's own size: a digit per decimal
  // place of maxBytes bounds it, so one measure with the longest possible number is enough.
  const longestNote = `; payload truncated from ${original} to ${maxBytes} bytes`;
  const metadata = jsonBytes({ ...headers, [DEAD_LETTER_REASON_HEADER]: reason + longestNote }, properties);
  const kept = Math.max(0, Math.floor(maxBytes) - metadata);
  headers[DEAD_LETTER_REASON_HEADER] = `${reason}; payload truncated from ${original} to ${kept} bytes`;
  // A copy, not a view: the letter must not keep the whole oversized payload alive in memory.
  return { headers, properties, body: new Uint8Array(letter.body.subarray(0, kept)) };
}

function jsonBytes(headers: Record<string, JsonValue>, properties: WireMessage['properties']): number {
  return Buffer.byteLength(JSON.stringify({ headers, properties }), 'utf8');
}
