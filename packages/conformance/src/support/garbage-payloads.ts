import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type Delivery,
  encodeKombuEnvelope,
  encodeTaskMessage,
  type JsonValue,
  RAW_CONTENT_TYPE,
} from '@conveyor/core/transport';
import { PROBE_TASK } from './probe-message.js';

/**
 * What a transport that reads the payload as kombu's envelope (Memory, Redis, SQS, Kafka) decodes
 * from a garbage item that is a well-formed envelope: its dead letter is then that decoded message
 * (docs/transport-contract.md §2.4), not the raw bytes. A transport that carries the payload as a
 * message body (AMQP) dead-letters the raw bytes as that body instead.
 */
export interface DecodableEnvelope {
  body: Uint8Array;
  contentType: string;
  /** Headers the letter must still carry, compared after a JSON round trip (Infinity reads as null). */
  headers: Record<string, JsonValue>;
}

/** One payload written straight into a queue that no worker may run. */
export interface GarbagePayload {
  /** What it is, for failure messages. */
  label: string;
  bytes: Uint8Array;
  envelope?: DecodableEnvelope;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A kombu envelope as a producer writes it, around `body` (bytes the task decoder must refuse). */
function envelopeAround(
  label: string,
  id: string,
  body: Uint8Array,
  contentType = 'application/json',
  contentEncoding = 'utf-8',
): GarbagePayload {
  const valid = encodeTaskMessage({ id, task: PROBE_TASK, args: [0] });
  const message = {
    ...valid,
    properties: { ...valid.properties, content_type: contentType, content_encoding: contentEncoding },
    body,
  };
  const text = encodeKombuEnvelope(message, { exchange: '', routing_key: 'garbage' }, `${id}-tag`);
  return {
    label,
    bytes: utf8(text),
    envelope: { body, contentType, headers: { task: PROBE_TASK, id } },
  };
}

/** A hand-written envelope (hostile keys, huge numbers) whose base64 body is `[]`, never a task. */
function handWritten(
  label: string,
  text: string,
  id: string,
  headers: Record<string, JsonValue> = {},
): GarbagePayload {
  return {
    label,
    bytes: utf8(text),
    envelope: { body: utf8('[]'), contentType: 'application/json', headers: { id, ...headers } },
  };
}

/** Deterministic bytes (a linear congruential generator), so a failure can be replayed. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/**
 * Garbage that is text: valid UTF-8 of characters every broker body accepts (SQS's included), so
 * every harness can write it unchanged. Each item is refused either as an envelope or as a task.
 */
export function textGarbage(tag: string): GarbagePayload[] {
  const depth = 5_000;
  return [
    {
      label: 'truncated JSON',
      bytes: utf8('{"body": "W1tdLCB7fSwge31d", "headers": {"task": "conformance.pro'),
    },
    {
      label: 'a real task envelope cut in half',
      bytes: utf8(
        encodeKombuEnvelope(
          encodeTaskMessage({ id: `${tag}-cut`, task: PROBE_TASK, args: [0] }),
          { exchange: '', routing_key: 'garbage' },
          'cut',
        ).slice(0, 150),
      ),
    },
    { label: 'JSON of the wrong shape: an array', bytes: utf8('[1, 2, 3]') },
    { label: 'JSON of the wrong shape: a string', bytes: utf8('"just a string"') },
    { label: 'JSON null', bytes: utf8('null') },
    { label: 'an envelope whose body is a number', bytes: utf8('{"body": 42, "headers": {}}') },
    {
      label: 'an envelope with headers and properties of the wrong types',
      bytes: utf8('{"body": "", "headers": [1, 2], "properties": "x"}'),
    },
    { label: 'a huge number', bytes: utf8(`123456789012345678901234567890e999`) },
    {
      label: 'an envelope whose body is a huge number',
      bytes: utf8('{"body": 1e400, "headers": {"task": "conformance.probe", "id": 1e400}}'),
    },
    handWritten(
      'an envelope with huge numbers in its headers and properties',
      `{"body":"W10=","content-type":"application/json","headers":{"task":"${PROBE_TASK}","id":"${tag}-huge","retries":1e400,"group_index":123456789012345678901234567890},"properties":{"body_encoding":"base64","priority":1e400,"delivery_mode":1e400,"delivery_tag":1e400}}`,
      `${tag}-huge`,
      { task: PROBE_TASK },
    ),
    handWritten(
      'an envelope with __proto__ keys',
      `{"__proto__":{"polluted":1},"body":"W10=","content-type":"application/json","headers":{"__proto__":{"polluted":1},"task":"${PROBE_TASK}","id":"${tag}-proto"},"properties":{"__proto__":{"polluted":1},"body_encoding":"base64"}}`,
      `${tag}-proto`,
      { task: PROBE_TASK },
    ),
    {
      label: 'constructor.prototype keys',
      bytes: utf8('{"constructor":{"prototype":{"polluted":1}},"body":null}'),
    },
    envelopeAround('a kombu envelope whose body is truncated JSON', `${tag}-kombu-cut`, utf8('[[1], {}, {')),
    envelopeAround(
      'a kombu envelope whose body is not [args, kwargs, embed]',
      `${tag}-kombu-shape`,
      utf8('{"args": [1]}'),
    ),
    envelopeAround(
      'a kombu envelope with a pickle body',
      `${tag}-kombu-pickle`,
      utf8('(lp0\nI1\na.'),
      'application/x-python-serialize',
      'binary',
    ),
    envelopeAround(
      'a kombu envelope with a gzip body',
      `${tag}-kombu-gzip`,
      utf8('[[1], {}, {}]'),
      'application/json',
      'gzip',
    ),
    { label: `arrays nested ${depth} deep`, bytes: utf8(`${'['.repeat(depth)}${']'.repeat(depth)}`) },
    {
      label: `an envelope with headers nested ${depth} deep`,
      bytes: utf8(`{"body":"","headers":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
    },
  ];
}

/**
 * Garbage that is not text: bytes that are not UTF-8, control characters, nothing at all. A broker
 * whose bodies are text (SQS) cannot hold these unchanged.
 */
export function binaryGarbage(tag: string): GarbagePayload[] {
  return [
    { label: 'random bytes', bytes: Uint8Array.from([0xff, 0xfe, ...pseudoRandomBytes(1022, 13)]) },
    { label: 'random bytes (short)', bytes: pseudoRandomBytes(7, 42) },
    { label: 'a lone continuation byte', bytes: Uint8Array.from([0x80]) },
    { label: 'an empty payload', bytes: new Uint8Array(0) },
    { label: 'NUL and control bytes', bytes: Uint8Array.from([0x00, 0x01, 0x1b, 0x7f, 0x00]) },
    {
      label: 'an envelope with bytes that are not UTF-8 in a header',
      bytes: Uint8Array.from([
        ...utf8(`{"body":"W10=","headers":{"task":"${PROBE_TASK}","id":"${tag}-`),
        0xff,
        0xc3,
        ...utf8('"},"properties":{"body_encoding":"base64"}}'),
      ]),
    },
    { label: 'an envelope in UTF-16', bytes: Buffer.from(`\ufeff{"body":"W10=","headers":{}}`, 'utf16le') },
  ];
}

/** Reason and source headers a dead letter must carry; undefined when it has them. */
export function missingDeadLetterHeaders(letter: Delivery, queue: string): string | undefined {
  const headers = letter.message?.headers;
  const reason = headers?.[DEAD_LETTER_REASON_HEADER];
  if (typeof reason !== 'string' || reason.trim() === '') {
    return `no reason in ${DEAD_LETTER_REASON_HEADER} (got ${JSON.stringify(reason)})`;
  }
  const source = headers?.[DEAD_LETTER_SOURCE_HEADER];
  if (source !== queue)
    return `${DEAD_LETTER_SOURCE_HEADER} is ${JSON.stringify(source)}, expected "${queue}"`;
  return undefined;
}

/**
 * Whether `letter` is the dead letter of `item`, as the contract defines it (§2.4): the raw bytes,
 * unchanged, as an `application/octet-stream` letter; or, when the transport decoded the payload
 * into a message, that message: its body the payload's bytes (AMQP: the payload is the body), or,
 * where the payload is a kombu envelope the transport decoded, the envelope's body, content type
 * and headers.
 */
export function isDeadLetterOf(letter: Delivery, item: GarbagePayload): boolean {
  const message = letter.message;
  if (!message) return false;
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  if (message.properties.content_type === RAW_CONTENT_TYPE) {
    // A letter of undecodable bytes: those bytes, and nothing but Conveyor's own headers.
    return (
      body.equals(item.bytes) &&
      message.properties.content_encoding === 'binary' &&
      Object.keys(message.headers).every((key) => key.startsWith('x-conveyor-'))
    );
  }
  if (body.equals(item.bytes)) return true;
  const envelope = item.envelope;
  if (!envelope) return false;
  if (!body.equals(envelope.body) || message.properties.content_type !== envelope.contentType) return false;
  return Object.entries(envelope.headers).every(
    ([key, value]) =>
      JSON.stringify(roundTrip(Object.hasOwn(message.headers, key) ? message.headers[key] : undefined)) ===
      JSON.stringify(roundTrip(value)),
  );
}

function roundTrip(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
