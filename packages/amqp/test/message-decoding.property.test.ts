// First: @conveyor/amqp must load before amqplib, so that its field-table decoder is the one in use.
import '../src/index.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  deadLetterMessage,
  decodeTaskMessage,
  MalformedMessageError,
} from '@conveyor/core/transport';
import type { ConsumeMessage } from 'amqplib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { typedHeaders, UnwritableHeaderError, writableHeaders } from '../src/header-table.js';
import { deliveryCountOf, hasBrokerCount, wireMessageOf } from '../src/wire-mapping.js';

// A message from RabbitMQ is whatever another producer wrote: any body, any content type and
// encoding, and a header table of any of the field types RabbitMQ accepts (py-amqp's 64-bit `L`,
// long strings that are not UTF-8, timestamps, decimals, byte arrays, nested tables and arrays),
// under any keys (`__proto__`, `constructor`). Decoding it gives a message that core either runs
// or refuses with MalformedMessageError and a reason, never another error; its dead letter can be
// written back; its delivery count is a positive integer; and Object.prototype stays clean.

const require = createRequire(import.meta.url);
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  decodeFields(slice: Buffer): Record<string, unknown>;
  encodeTable(buffer: Buffer, table: Record<string, unknown>, offset: number): number;
};

/** One field value as its wire bytes (tag first), for a table amqplib then decodes. */
type Field = { tag: string; bytes: Buffer };

function sized(tag: string, payload: Buffer): Field {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return { tag, bytes: Buffer.concat([length, payload]) };
}

function fixed(tag: string, size: number, write: (buffer: Buffer) => void): Field {
  const bytes = Buffer.alloc(size);
  write(bytes);
  return { tag, bytes };
}

const key = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'x-delivery-count',
    'x-conveyor-delivery-count',
    'task',
    'id',
    'retries',
    'timelimit',
    'eta',
    'expires',
    'compression',
  ),
  fc.string({ maxLength: 12 }),
);

const scalar: fc.Arbitrary<Field> = fc.oneof(
  fc.boolean().map((v) => fixed('t', 1, (b) => b.writeUInt8(v ? 1 : 0))),
  fc.integer({ min: -128, max: 127 }).map((v) => fixed('b', 1, (b) => b.writeInt8(v))),
  fc.integer({ min: 0, max: 255 }).map((v) => fixed('B', 1, (b) => b.writeUInt8(v))),
  fc.integer({ min: -32_768, max: 32_767 }).map((v) => fixed('s', 2, (b) => b.writeInt16BE(v))),
  fc.integer({ min: 0, max: 65_535 }).map((v) => fixed('u', 2, (b) => b.writeUInt16BE(v))),
  fc.integer().map((v) => fixed('I', 4, (b) => b.writeInt32BE(v))),
  fc.nat({ max: 0xffff_ffff }).map((v) => fixed('i', 4, (b) => b.writeUInt32BE(v))),
  fc
    .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    .chain((v) => fc.constantFrom('l', 'L').map((tag) => fixed(tag, 8, (b) => b.writeBigInt64BE(v)))),
  fc.float().map((v) => fixed('f', 4, (b) => b.writeFloatBE(v))),
  fc.double().map((v) => fixed('d', 8, (b) => b.writeDoubleBE(v))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat({ max: 0xffff_ffff })).map(([places, digits]) =>
    fixed('D', 5, (b) => {
      b.writeUInt8(places);
      b.writeUInt32BE(digits, 1);
    }),
  ),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => fixed('T', 8, (b) => b.writeBigUInt64BE(v))),
  fc.constant({ tag: 'V', bytes: Buffer.alloc(0) }),
  // Long strings: text, or bytes that are not UTF-8 (py-amqp writes Python bytes as `S`).
  fc
    .oneof(
      fc.string({ maxLength: 40 }).map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    )
    .map((bytes) => sized('S', bytes)),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => sized('x', Buffer.from(bytes))),
);

function tableBytes(entries: [string, Field][]): Buffer {
  return Buffer.concat(
    entries.map(([name, field]) => {
      const nameBytes = Buffer.from(name);
      return Buffer.concat([Buffer.from([nameBytes.length]), nameBytes, Buffer.from(field.tag), field.bytes]);
    }),
  );
}

const { value: field } = fc.letrec<{ value: Field }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => sized('F', tableBytes(entries))),
    fc
      .array(tie('value'), { maxLength: 4 })
      .map((items) =>
        sized('A', Buffer.concat(items.map((item) => Buffer.concat([Buffer.from(item.tag), item.bytes])))),
      ),
  ),
}));

const headerTable = fc.array(fc.tuple(key, field), { maxLength: 8 }).map(tableBytes);

const body = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value))),
  fc
    .constantFrom('[[1], {}, {}]', '[[1], {}', '[]', '{"__proto__": {"polluted": 1}}')
    .map((t) => Buffer.from(t)),
);

const optionalText = fc.option(
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('application/json', 'gzip', 'binary')),
  {
    nil: undefined,
  },
);

function prototypeIsClean(): void {
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>)['x-delivery-count']).toBeUndefined();
}

/** Every key of the table's bytes is an own key of what was decoded, at every level. */
function keysAreOwn(decoded: unknown): void {
  if (typeof decoded !== 'object' || decoded === null || Buffer.isBuffer(decoded)) return;
  if (Array.isArray(decoded)) {
    for (const item of decoded) keysAreOwn(item);
    return;
  }
  const proto = Object.getPrototypeOf(decoded);
  expect(proto === Object.prototype || proto === null).toBe(true);
  for (const name of Object.keys(decoded)) keysAreOwn((decoded as Record<string, unknown>)[name]);
}

describe('AMQP message decoding on bad input (property-based)', () => {
  it('field tables of every type, under hostile keys, decode with every key its own', () => {
    fc.assert(
      fc.property(headerTable, (bytes) => {
        const table = codec.decodeFields(bytes);
        keysAreOwn(table);
      }),
      { numRuns: 1000 },
    );
    prototypeIsClean();
  });

  it('a delivery gives a message core runs or refuses with a reason, a positive count, and a dead letter that can be written', () => {
    fc.assert(
      fc.property(
        headerTable,
        body,
        optionalText,
        optionalText,
        fc.option(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.double()), { nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        optionalText,
        optionalText,
        fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
        fc.boolean(),
        (
          tableBytes,
          content,
          contentType,
          contentEncoding,
          priority,
          redelivered,
          withPriorities,
          correlationId,
          replyTo,
          deliveryMode,
          quorum,
        ) => {
          const msg = {
            content,
            fields: { deliveryTag: 1, redelivered, exchange: '', routingKey: 'q', consumerTag: 'c' },
            properties: {
              headers: codec.decodeFields(tableBytes),
              contentType,
              contentEncoding,
              priority,
              deliveryMode,
              correlationId,
              replyTo,
            },
          } as unknown as ConsumeMessage;
          const wire = wireMessageOf(msg, withPriorities);
          const count = deliveryCountOf(msg, quorum);
          expect(Number.isSafeInteger(count) && count >= 1, `delivery count ${count}`).toBe(true);
          expect(typeof hasBrokerCount(msg, quorum)).toBe('boolean');
          let reason = 'accepted';
          try {
            decodeTaskMessage(wire);
          } catch (error) {
            if (!(error instanceof MalformedMessageError)) throw error;
            expect(error.message.length).toBeGreaterThan(0);
            reason = `malformed message: ${error.message}`;
          }
          // As AmqpTransport#publishDeadLetter writes it when a header cannot be written as it is.
          const letter = deadLetterMessage({ queue: 'q', reason, message: wire });
          const written = writableHeaders(
            letter.headers,
            new Set([DEAD_LETTER_REASON_HEADER, DEAD_LETTER_SOURCE_HEADER]),
          );
          codec.encodeTable(Buffer.alloc(140_000), typedHeaders(written.headers), 0);
        },
      ),
      { numRuns: 1000 },
    );
    prototypeIsClean();
  });

  // What the properties found, pinned by example.
  it("a __proto__ header is written back as a header, not as the table's prototype", () => {
    const headers = JSON.parse('{"__proto__": {"x-delivery-count": 1000}, "id": "i"}') as Record<
      string,
      never
    >;
    const buffer = Buffer.alloc(1024);
    const length = codec.encodeTable(buffer, typedHeaders(headers), 0);
    const back = codec.decodeFields(buffer.subarray(4, length));
    expect(Object.keys(back)).toEqual(['__proto__', 'id']);
    expect(Object.hasOwn(back, 'x-delivery-count')).toBe(false);
  });

  it('a table with a "!" key is unwritable (amqplib takes it for a typed value), and a dead letter keeps it as text', () => {
    expect(() => typedHeaders({ h: { '!': 0 } })).toThrow(UnwritableHeaderError);
    const written = writableHeaders({ h: { '!': 0 }, id: 'i' });
    expect(written.headers).toEqual({ h: '{"!":0}', id: 'i' });
    expect(written.changes[0]).toMatch(/header "h" .*"!"/);
  });

  it('an x-delivery-count a producer wrote is ignored on a classic queue, and on a quorum queue unless it is a count', () => {
    const forgedWith = (forged: number): ConsumeMessage =>
      ({
        content: Buffer.alloc(0),
        fields: { redelivered: false },
        properties: { headers: { 'x-delivery-count': forged } },
      }) as unknown as ConsumeMessage;
    for (const forged of [-1, 1.5, Number.NaN, 2 ** 60]) {
      expect(deliveryCountOf(forgedWith(forged), true)).toBe(1);
      expect(hasBrokerCount(forgedWith(forged), true)).toBe(false);
    }
    expect(deliveryCountOf(forgedWith(1000), false)).toBe(1);
    expect(hasBrokerCount(forgedWith(1000), false)).toBe(false);
    expect(deliveryCountOf(forgedWith(2), true)).toBe(3);
  });
});
