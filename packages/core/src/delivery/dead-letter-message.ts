import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  RAW_CONTENT_TYPE,
} from '../transport/delivery.js';

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
}

/**
 * The one layout of a dead-lettered message, whichever transport or core path writes it: the
 * original message with the reason and source queue added to its headers, or, for a payload that
 * could not be decoded, its raw bytes unchanged as `application/octet-stream` with the same two
 * headers (so nothing about the garbage is lost or re-encoded).
 */
export function deadLetterMessage(source: DeadLetterSource): WireMessage {
  const extra: Record<string, JsonValue> = {
    [DEAD_LETTER_REASON_HEADER]: String(source.reason),
    [DEAD_LETTER_SOURCE_HEADER]: source.queue,
  };
  if (source.message) {
    return { ...source.message, headers: { ...source.message.headers, ...extra } };
  }
  return {
    headers: extra,
    properties: { content_type: RAW_CONTENT_TYPE, content_encoding: 'binary' },
    body: (typeof source.raw === 'function' ? source.raw() : source.raw) ?? new Uint8Array(0),
  };
}
