import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFieldTable, int64HeaderDecoding } from '../src/index.js';

// amqplib's own encoder and decoder (internal files of the pinned 2.3.1, reached by path).
const require = createRequire(import.meta.url);
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  encodeTable(buffer: Buffer, table: Record<string, unknown>, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
};

/** A field table as it sits in a frame, minus the 4-byte length prefix amqplib writes. */
function encodedByAmqplib(table: Record<string, unknown>): Buffer {
  const buffer = Buffer.alloc(4096);
  const written = codec.encodeTable(buffer, table, 0);
  return buffer.subarray(4, written);
}

/** Builds `key` → int64 with the tag py-amqp writes (`L`, signed). */
function pyAmqpInt64(key: string, value: bigint): Buffer {
  const entry = Buffer.alloc(1 + key.length + 1 + 8);
  entry.writeUInt8(key.length, 0);
  entry.write(key, 1, 'utf8');
  entry.write('L', 1 + key.length, 'latin1');
  entry.writeBigInt64BE(value, 2 + key.length);
  return entry;
}

function withLength(tag: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(tag, 0, 'latin1');
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

describe("py-amqp's L (signed 64-bit) header values", () => {
  it('is installed when @conveyor/amqp loads before anything else loads amqplib', () => {
    expect(int64HeaderDecoding).toBe('installed');
  });

  it('decodes L at the top level, in a nested table and in an array', () => {
    const nested = Buffer.concat([
      Buffer.from([5]),
      Buffer.from('inner'),
      withLength('F', pyAmqpInt64('n', -(2n ** 40n))),
    ]);
    const element = pyAmqpInt64('x', 7n).subarray(2); // tag + value only: an array holds bare values
    const array = Buffer.concat([Buffer.from([3]), Buffer.from('arr'), withLength('A', element)]);
    const table = Buffer.concat([pyAmqpInt64('big', 2n ** 40n), nested, array]);
    const expected = { big: 2 ** 40, inner: { n: -(2 ** 40) }, arr: [7] };
    expect(decodeFieldTable(table)).toEqual(expected);
    // And through amqplib itself, which is what a consumer's frames go through.
    expect(codec.decodeFields(table)).toEqual(expected);
  });

  it('gives the same values as amqplib for every other type', () => {
    const table = {
      s: 'text',
      i: { '!': 'int', value: 300 },
      neg: { '!': 'int', value: -3 },
      long: { '!': 'long', value: 2 ** 40 },
      d: 1.5,
      t: true,
      v: null,
      a: [1, 'two', null, [3]],
      f: { inner: 'x', n: { '!': 'int', value: 2 } },
      ts: { '!': 'timestamp', value: 1_700_000_000 },
      dec: { '!': 'decimal', value: { places: 2, digits: 314 } },
      bin: Buffer.from([1, 2, 3]),
    };
    const bytes = encodedByAmqplib(table);
    expect(decodeFieldTable(bytes)).toEqual(codec.decodeFields(bytes));
  });

  it("reads py-amqp's bytes written as a long string S as bytes when they are not UTF-8 (not U+FFFD)", () => {
    const entry = (key: string, body: Buffer): Buffer =>
      Buffer.concat([Buffer.from([key.length]), Buffer.from(key), withLength('S', body)]);
    const table = Buffer.concat([entry('raw', Buffer.from([0, 0xff])), entry('text', Buffer.from('héllo'))]);
    const expected = { raw: Buffer.from([0, 0xff]), text: 'héllo' };
    expect(decodeFieldTable(table)).toEqual(expected);
    expect(codec.decodeFields(table)).toEqual(expected);
  });

  it('still refuses a tag nothing defines, as amqplib does', () => {
    const bad = Buffer.concat([Buffer.from([1]), Buffer.from('k'), Buffer.from('Q')]);
    expect(() => decodeFieldTable(bad)).toThrow(/Unexpected type tag "Q"/);
    expect(() => codec.decodeFields(bad)).toThrow(/Unexpected type tag "Q"/);
  });
});
