import { randomUUID } from 'node:crypto';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type DecodedKombuEnvelope,
  decodeKombuEnvelope,
  encodeKombuEnvelope,
  type WireMessage,
} from '@conveyor/core/transport';
import type { IHeaders, Message } from 'kafkajs';

/**
 * Record header carrying the epoch ms before which a delayed record must not reach its queue. The
 * delay forwarder reads it without decoding the envelope.
 */
export const NOT_BEFORE_HEADER = 'x-conveyor-not-before';
/** Record header naming the topic a delayed record is forwarded to when due. */
export const TARGET_HEADER = 'x-conveyor-target';

/** Kafka's default `message.max.bytes`: a record batch above it is refused by the broker. */
export const KAFKA_MAX_RECORD_BYTES = 1_048_588;
/**
 * Room kept for the envelope's JSON, the message's headers and the record overhead when
 * `maxMessageBytes` is computed; larger headers are still caught by measuring the encoded record.
 */
export const RECORD_ALLOWANCE_BYTES = 8 * 1024;
/** The largest body that always fits: the envelope base64's it (4/3). */
export const KAFKA_MAX_BODY_BYTES = Math.floor((KAFKA_MAX_RECORD_BYTES - RECORD_ALLOWANCE_BYTES) / 4) * 3;

/**
 * The Kafka record of a message bound for `queue`: value = kombu's JSON envelope (what kombu's
 * confluentkafka transport produces), key = the ordering key (kombu writes none and ignores it),
 * record headers only for Conveyor's own routing.
 */
export function encodeRecord(
  queue: string,
  message: WireMessage,
  orderingKey: string | undefined,
  recordHeaders: IHeaders = {},
): Message {
  const value = Buffer.from(
    encodeKombuEnvelope(message, { exchange: '', routing_key: queue }, randomUUID()),
    'utf8',
  );
  const record: Message = { value, key: orderingKey ?? null };
  if (Object.keys(recordHeaders).length > 0) record.headers = recordHeaders;
  return record;
}

/** Bytes the broker will count for a record, near enough to refuse oversize ones before sending. */
export function recordBytes(record: Message): number {
  let bytes = 64 + byteLength(record.value) + byteLength(record.key ?? null);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    bytes += Buffer.byteLength(name) + 8;
    for (const v of Array.isArray(value) ? value : [value]) bytes += byteLength(v ?? null);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null): number {
  if (value === null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
}

/** Decodes a record's value as kombu's envelope; MalformedMessageError otherwise. */
export function decodeRecordValue(value: Buffer | null): DecodedKombuEnvelope {
  return decodeKombuEnvelope(value ?? Buffer.alloc(0));
}

/** A record header as text (kafkajs hands headers over as Buffers). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

/** Record headers that make a dead letter readable without decoding it (`kcat`, Kafka UIs). */
export function deadLetterRecordHeaders(letter: WireMessage): IHeaders {
  const out: IHeaders = {};
  for (const name of [DEAD_LETTER_REASON_HEADER, DEAD_LETTER_SOURCE_HEADER]) {
    const value = letter.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
