import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * py-amqp writes an integer header beyond ±2^31 with the tag `L` (signed 64-bit), and RabbitMQ
 * passes it on; amqplib 2.3.1 does not know `L` and fails the whole connection on the frame
 * ("Unexpected type tag"). The message is then redelivered to the next connection, which fails the
 * same way: one header from a Python producer stops every Conveyor consumer of the queue.
 *
 * py-amqp also writes `bytes` as a long string `S`; amqplib reads every `S` as UTF-8, so bytes that
 * are not UTF-8 became U+FFFD and were corrupted when the message was re-published (a retry, a dead
 * letter). Such a string is read here as the bytes it holds (a Buffer, written back as a byte array
 * `x`, which py-amqp reads as `bytes`).
 *
 * A header named `__proto__` (any producer can send one) was not a header at all: amqplib stores
 * each key with `fields[key] = value`, which for `__proto__` sets the table's prototype instead, so
 * the header vanished and the keys of its value read as the message's own: a `__proto__` table
 * holding `x-delivery-count: 1000` made a first delivery count 1001. Such a table is decoded here,
 * the key kept as an own header.
 *
 * amqplib has no hook for field tables, so this wraps its internal `codec.decodeFields` before
 * amqplib's protocol definitions capture it. Tables amqplib reads whole, with no U+FFFD in them and
 * no `__proto__` key, go through amqplib untouched; only one it rejects over `L`, one with a U+FFFD
 * in a string, or one with `__proto__` in its bytes is decoded again here, with every tag RabbitMQ
 * accepts.
 */

type FieldTable = Record<string, unknown>;
type DecodeFields = (slice: Buffer) => FieldTable;

/** What happened when the decoder was installed. */
export type Int64HeaderDecoding =
  /** amqplib will read `L` headers. */
  | 'installed'
  /** amqplib was loaded before @conveyor/amqp (e.g. imported first by the application). */
  | 'amqplib-loaded-first'
  /** amqplib's files are not where 2.x keeps them. */
  | 'unavailable';

const PATCHED = Symbol.for('conveyor.amqp.int64HeaderDecoding');
/** The key that assignment would turn into a prototype (see the module comment). */
const PROTO_KEY = '__proto__';

function install(): Int64HeaderDecoding {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('amqplib'));
  } catch {
    return 'unavailable';
  }
  const codecPath = join(root, 'lib', 'codec.js');
  const defsPath = join(root, 'lib', 'defs.js');
  let codec: { decodeFields?: DecodeFields & { [PATCHED]?: true } };
  try {
    codec = require(codecPath) as typeof codec;
  } catch {
    return 'unavailable';
  }
  const original = codec.decodeFields;
  if (typeof original !== 'function') return 'unavailable';
  if (original[PATCHED]) return 'installed';
  // defs.js copies decodeFields into a local when it loads; patching after that changes nothing.
  if (require.cache[defsPath]) return 'amqplib-loaded-first';
  const patched = Object.assign(
    (slice: Buffer): FieldTable => {
      if (slice.includes(PROTO_KEY)) return decodeFieldTable(slice);
      let fields: FieldTable;
      try {
        fields = original(slice);
      } catch (error) {
        if (error instanceof TypeError && /type tag "L"/.test(error.message)) return decodeFieldTable(slice);
        throw error;
      }
      return hasReplacementCharacter(fields) ? decodeFieldTable(slice) : fields;
    },
    { [PATCHED]: true as const },
  );
  codec.decodeFields = patched;
  return 'installed';
}

/** Whether a decoded value holds U+FFFD anywhere: then an `S` in it may have held bytes. */
function hasReplacementCharacter(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD');
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some(hasReplacementCharacter);
  for (const key in value) {
    if (hasReplacementCharacter((value as FieldTable)[key])) return true;
  }
  return false;
}

/** Whether amqplib reads py-amqp's `L` headers in this process (see the module comment). */
export const int64HeaderDecoding: Int64HeaderDecoding = install();

/**
 * An AMQP 0-9-1 field table with every tag RabbitMQ accepts, `L` included, decoded to the same
 * values amqplib gives for the others (64-bit integers as numbers, as amqplib does for `l`), except
 * a long string that is not UTF-8, which is read as its bytes (a Buffer), and a `__proto__` key,
 * which is an own header like any other. Throws a TypeError on an unknown tag, as amqplib does.
 */
export function decodeFieldTable(slice: Buffer): FieldTable {
  const fields: FieldTable = {};
  let offset = 0;
  while (offset < slice.length) {
    const keyLength = slice.readUInt8(offset);
    offset += 1;
    const key = slice.toString('utf8', offset, offset + keyLength);
    offset += keyLength;
    const [value, next] = decodeFieldValue(slice, offset);
    if (key === PROTO_KEY) {
      Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
    } else fields[key] = value;
    offset = next;
  }
  return fields;
}

function decodeFieldValue(slice: Buffer, start: number): [unknown, number] {
  const tag = String.fromCharCode(slice[start] ?? 0);
  const at = start + 1;
  switch (tag) {
    case 't':
      return [slice[at] !== 0, at + 1];
    case 'b':
      return [slice.readInt8(at), at + 1];
    case 'B':
      return [slice.readUInt8(at), at + 1];
    case 's':
      return [slice.readInt16BE(at), at + 2];
    case 'u':
      return [slice.readUInt16BE(at), at + 2];
    case 'I':
      return [slice.readInt32BE(at), at + 4];
    case 'i':
      return [slice.readUInt32BE(at), at + 4];
    case 'l':
    case 'L':
      return [Number(slice.readBigInt64BE(at)), at + 8];
    case 'f':
      return [slice.readFloatBE(at), at + 4];
    case 'd':
      return [slice.readDoubleBE(at), at + 8];
    case 'D':
      return [
        { '!': 'decimal', value: { places: slice.readUInt8(at), digits: slice.readUInt32BE(at + 1) } },
        at + 5,
      ];
    case 'T':
      return [{ '!': 'timestamp', value: Number(slice.readBigUInt64BE(at)) }, at + 8];
    case 'V':
      return [null, at];
    case 'S': {
      const length = slice.readUInt32BE(at);
      const bytes = slice.subarray(at + 4, at + 4 + length);
      return [isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes), at + 4 + length];
    }
    case 'x': {
      const length = slice.readUInt32BE(at);
      return [slice.subarray(at + 4, at + 4 + length), at + 4 + length];
    }
    case 'F': {
      const length = slice.readUInt32BE(at);
      return [decodeFieldTable(slice.subarray(at + 4, at + 4 + length)), at + 4 + length];
    }
    case 'A': {
      const length = slice.readUInt32BE(at);
      const end = at + 4 + length;
      const values: unknown[] = [];
      let offset = at + 4;
      while (offset < end) {
        const [value, next] = decodeFieldValue(slice, offset);
        values.push(value);
        offset = next;
      }
      return [values, end];
    }
    default:
      throw new TypeError(`Unexpected type tag "${tag}"`);
  }
}
