import { isUtf8 } from 'node:buffer';
import {
  type JsonValue as CoreJsonValue,
  deadLetterMessage,
  decodeKombuEnvelope,
  decodeTaskMessage,
  encodeKombuEnvelope,
  encodeTaskMessage,
  MalformedMessageError,
  type WireMessage,
} from '@conveyor/core/transport';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStoredPayload } from '../src/stored-payload.js';

// A list element is whatever a producer pushed (LPUSH needs no envelope). Decoding it gives a
// message or a MalformedMessageError with a reason (the delivery then dead-letters the bytes as
// they are), never another error, never a change to Object.prototype; and a message it gives can
// be written back, as its dead letter or as a retry, so it cannot go round for ever.

const bucket = fc.integer({ min: 1, max: 4 });

/** Hostile keys and values to put in an envelope's headers and properties. */
const hostileObject = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'task',
      'id',
      'retries',
      'timelimit',
      'eta',
      'priority',
    ),
    fc.string({ maxLength: 8 }),
  ),
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64),
  ),
  { maxKeys: 6 },
);

/** JSON with huge number literals JSON.stringify never writes (1e400 reads as Infinity). */
const hugeNumbers = (text: string): string =>
  text.replace(/:(-?)\d+(\.\d+)?/g, (_match, sign: string) => `:${sign}123456789012345678901234567890e400`);

const envelopeText = fc
  .record({
    body: fc.oneof(fc.base64String({ maxLength: 64 }), fc.jsonValue({ maxDepth: 2 })),
    headers: fc.oneof(hostileObject, fc.jsonValue({ maxDepth: 2 })),
    properties: fc.oneof(hostileObject, fc.constant({ body_encoding: 'base64' })),
    'content-type': fc.constantFrom('application/json', 'application/x-python-serialize', 'text/plain', 7),
  })
  .chain((envelope) =>
    fc.tuple(fc.boolean(), fc.nat()).map(([huge, cut]) => {
      // JSON.stringify leaves out a __proto__ key made by fc.dictionary (it is the prototype):
      // write every key with JSON.parse semantics instead, as a foreign producer's text would be.
      const text = JSON.stringify(envelope, (_key, value: unknown) =>
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? Object.fromEntries(Object.entries(value))
          : value,
      );
      const written = huge ? hugeNumbers(text) : text;
      return cut % 3 === 0 ? written.slice(0, cut % (written.length + 1)) : written;
    }),
  );

/** Headers or arrays nested `depth` deep, around an otherwise valid envelope. */
const deeplyNested = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('{"a":', '['))
  .map(([depth, open]) => {
    const close = open === '[' ? ']' : '}';
    const inner = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return open === '['
      ? `{"body":"W10=","headers":{"deep":${inner}},"properties":{"body_encoding":"base64"}}`
      : `{"body":"W10=","headers":${inner},"properties":{"body_encoding":"base64"}}`;
  });

/** Real task envelopes with hostile args, kwargs and extra headers, some with their numbers made huge. */
const taskEnvelopeText = fc
  .record({
    args: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
    kwargs: hostileObject,
    extraHeaders: hostileObject,
    huge: fc.boolean(),
  })
  .map(({ args, kwargs, extraHeaders, huge }) => {
    const wire = encodeTaskMessage({
      id: 'prop-id',
      task: 'prop.task',
      args,
      kwargs: Object.fromEntries(Object.entries(kwargs)),
      extraHeaders: Object.fromEntries(Object.entries(extraHeaders)) as Record<string, CoreJsonValue>,
    });
    const text = encodeKombuEnvelope(wire, { exchange: '', routing_key: 'q' }, 'tag');
    return huge ? hugeNumbers(text) : text;
  });

const payload = fc.oneof(
  taskEnvelopeText.map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  envelopeText.map((text) => Buffer.from(text)),
  deeplyNested.map((text) => Buffer.from(text)),
  // Bytes that are not UTF-8 inside the strings of a valid envelope.
  fc
    .tuple(fc.oneof(envelopeText, taskEnvelopeText), fc.uint8Array({ minLength: 1, maxLength: 4 }))
    .map(([text, bytes]) => {
      const at = text.indexOf('"', 1) + 1;
      return Buffer.concat([
        Buffer.from(text.slice(0, at)),
        Buffer.from([0xff, ...bytes]),
        Buffer.from(text.slice(at)),
      ]);
    }),
);

function prototypeIsClean(): void {
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).task).toBeUndefined();
}

/** What the worker writes back for a decoded message: its dead letter, and its retry if it is a task. */
function writeBack(message: WireMessage): void {
  let reason = 'failed for good';
  try {
    const task = decodeTaskMessage(message);
    encodeKombuEnvelope(
      encodeTaskMessage({ ...task, retries: task.retries + 1 }),
      { exchange: '', routing_key: 'q' },
      't',
    );
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) throw error;
    expect(error.message.length).toBeGreaterThan(0);
    reason = `malformed message: ${error.message}`;
  }
  const letter = deadLetterMessage({ queue: 'q', reason, message });
  const stored = encodeKombuEnvelope(letter, { exchange: '', routing_key: 'q.dlq' }, 't');
  // The letter reads back with the body it was given, byte for byte.
  expect(
    Buffer.from(decodeKombuEnvelope(Buffer.from(stored)).message.body).equals(Buffer.from(message.body)),
  ).toBe(true);
}

describe('Redis list elements on bad input (property-based)', () => {
  it('decodeStoredPayload: arbitrary bytes, hostile, huge, truncated and deeply nested JSON', () => {
    fc.assert(
      fc.property(payload, bucket, (raw, level) => {
        const decoded = decodeStoredPayload(raw, level);
        if (decoded.message === null) {
          expect(decoded.malformed).toBeInstanceOf(MalformedMessageError);
          expect(decoded.malformed.message.length).toBeGreaterThan(0);
          return;
        }
        // Bytes that are not UTF-8 are never a message (their letter is the bytes themselves).
        expect(isUtf8(raw)).toBe(true);
        writeBack(decoded.message);
      }),
      { numRuns: 1500 },
    );
    prototypeIsClean();
  });
});
