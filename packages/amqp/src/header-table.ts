import { BrokerError, type JsonValue } from '@conveyor/core/transport';

/**
 * amqplib encodes a message's header table into one scratch buffer of this size; a larger table
 * makes the publish throw before anything is sent.
 */
export const MAX_HEADER_TABLE_BYTES = 65_536;

/**
 * A header that cannot be written as an AMQP field value (a timestamp read back as 2^64, a table
 * above amqplib's 64 KiB). Not retryable: the same message fails the same way every time.
 */
export class UnwritableHeaderError extends BrokerError {
  /** The header at fault. */
  readonly header: string;

  constructor(header: string, problem: string) {
    super(`header "${header}" cannot be written to RabbitMQ: ${problem}`, { transport: 'amqp' });
    this.header = header;
  }
}

/** amqplib's `{'!': type, value}` notation: a field value with its AMQP type spelled out. */
interface TypedValue {
  '!': string;
  value: unknown;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const INT64_BOUND = 2 ** 63;

/** Size on the wire (tag included) and range check of each type amqplib writes from `{'!': type}`. */
const EXPLICIT: Record<string, { bytes: number; accepts(value: unknown): boolean }> = {
  byte: { bytes: 2, accepts: (v) => intIn(v, -128, 127) },
  int8: { bytes: 2, accepts: (v) => intIn(v, -128, 127) },
  unsignedbyte: { bytes: 2, accepts: (v) => intIn(v, 0, 255) },
  uint8: { bytes: 2, accepts: (v) => intIn(v, 0, 255) },
  short: { bytes: 3, accepts: (v) => intIn(v, -0x8000, 0x7fff) },
  int16: { bytes: 3, accepts: (v) => intIn(v, -0x8000, 0x7fff) },
  unsignedshort: { bytes: 3, accepts: (v) => intIn(v, 0, 0xffff) },
  uint16: { bytes: 3, accepts: (v) => intIn(v, 0, 0xffff) },
  int: { bytes: 5, accepts: (v) => intIn(v, INT32_MIN, INT32_MAX) },
  int32: { bytes: 5, accepts: (v) => intIn(v, INT32_MIN, INT32_MAX) },
  unsignedint: { bytes: 5, accepts: (v) => intIn(v, 0, 0xffff_ffff) },
  uint32: { bytes: 5, accepts: (v) => intIn(v, 0, 0xffff_ffff) },
  long: { bytes: 9, accepts: (v) => bigIn(v, -(2n ** 63n), 2n ** 63n - 1n) },
  int64: { bytes: 9, accepts: (v) => bigIn(v, -(2n ** 63n), 2n ** 63n - 1n) },
  timestamp: { bytes: 9, accepts: (v) => bigIn(v, 0n, 2n ** 64n - 1n) },
  float: { bytes: 5, accepts: (v) => typeof v === 'number' },
  double: { bytes: 9, accepts: (v) => typeof v === 'number' },
  float64: { bytes: 9, accepts: (v) => typeof v === 'number' },
  decimal: {
    bytes: 6,
    accepts: (v) =>
      typeof v === 'object' &&
      v !== null &&
      intIn((v as { places?: unknown }).places, 0, 255) &&
      intIn((v as { digits?: unknown }).digits, 0, 0xffff_ffff),
  },
};

function intIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function bigIn(value: unknown, min: bigint, max: bigint): boolean {
  if (typeof value === 'number' && !Number.isInteger(value)) return false;
  if (typeof value !== 'number' && typeof value !== 'bigint') return false;
  const big = BigInt(value);
  return big >= min && big <= max;
}

function isTypedValue(value: object): value is TypedValue {
  return Object.hasOwn(value, '!') && typeof (value as { '!': unknown })['!'] === 'string';
}

/** A header value rewritten for amqplib, with its size on the wire. */
interface Written {
  value: unknown;
  bytes: number;
}

/**
 * One value as amqplib must write it so that it reads back with the same type (the header
 * `name` is for the error). Integers within 32 bits as a signed `I` (amqplib would pick `b` or `s`,
 * which py-amqp 5.1.1 misreads: 300 becomes ','); larger ones as a signed 64-bit `l`, except
 * negative ones, which py-amqp 5.1.1 reads back unsigned from `l` and so get a double; other numbers
 * as doubles. Timestamps, decimals and the other `{'!': type}` values amqplib reads back, byte
 * arrays, tables and arrays are written as they came.
 */
function write(name: string, value: unknown): Written {
  switch (typeof value) {
    case 'string':
      return { value, bytes: 5 + Buffer.byteLength(value) };
    case 'boolean':
      return { value, bytes: 2 };
    case 'number':
      if (Number.isInteger(value)) {
        if (value >= INT32_MIN && value <= INT32_MAX) return { value: { '!': 'int', value }, bytes: 5 };
        if (value > 0 && value < INT64_BOUND) return { value: { '!': 'long', value }, bytes: 9 };
      }
      return { value: { '!': 'double', value }, bytes: 9 };
    case 'bigint':
      if (bigIn(value, -(2n ** 63n), 2n ** 63n - 1n)) return { value: { '!': 'long', value }, bytes: 9 };
      throw new UnwritableHeaderError(name, `${value} is beyond a signed 64-bit integer`);
    case 'undefined':
      return { value: null, bytes: 1 };
    case 'object':
      break;
    default:
      throw new UnwritableHeaderError(name, `a ${typeof value} is not an AMQP field value`);
  }
  if (value === null) return { value: null, bytes: 1 };
  if (value instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { value: bytes, bytes: 5 + bytes.byteLength };
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => write(name, item));
    return { value: items.map((i) => i.value), bytes: 5 + items.reduce((sum, i) => sum + i.bytes, 0) };
  }
  if (isTypedValue(value)) {
    const type = EXPLICIT[value['!']];
    if (!type)
      throw new UnwritableHeaderError(name, `"${value['!']}" is not an AMQP field type amqplib writes`);
    if (!type.accepts(value.value)) {
      throw new UnwritableHeaderError(name, `${value['!']} ${describe(value.value)} is out of its range`);
    }
    return { value, bytes: type.bytes };
  }
  if (Object.hasOwn(value, '!')) {
    // amqplib reads any table with a "!" key as its typed-value notation and fails on this one.
    throw new UnwritableHeaderError(name, `a table with the key "!" is taken by amqplib for a typed value`);
  }
  const table = writeTable(name, value as Record<string, unknown>);
  return { value: table.value, bytes: 1 + table.bytes };
}

/**
 * Sets `key` as an own property even when it is `__proto__`, which plain assignment would turn into
 * the object's prototype: the header would be lost, and amqplib would then write the prototype's
 * enumerable keys (a Buffer's throw a TypeError).
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}

function writeTable(name: string, table: Record<string, unknown>): Written {
  const out: Record<string, unknown> = {};
  let bytes = 4;
  for (const key in table) {
    if (table[key] === undefined) continue; // amqplib leaves undefined entries out of a table
    const keyBytes = Buffer.byteLength(key);
    if (keyBytes > 255) throw new UnwritableHeaderError(name, `the key "${key}" is longer than 255 bytes`);
    const entry = write(name === '' ? key : name, table[key]);
    setOwn(out, key, entry.value);
    bytes += 1 + keyBytes + entry.bytes;
  }
  return { value: out, bytes };
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * Headers as amqplib must write them so that every value reads back with the type it came with,
 * as far as JavaScript can tell (see `write` above). Throws UnwritableHeaderError naming the header
 * when a value cannot be written, or when the table is above amqplib's 64 KiB.
 */
export function typedHeaders(headers: Record<string, JsonValue>): Record<string, unknown> {
  const table = writeTable('', headers as Record<string, unknown>);
  if (table.bytes > MAX_HEADER_TABLE_BYTES) {
    const largest = largestHeader(headers);
    throw new UnwritableHeaderError(
      largest?.key ?? '',
      `the header table takes ${table.bytes} bytes, above amqplib's ${MAX_HEADER_TABLE_BYTES}${largest ? ` (this header alone takes ${largest.bytes})` : ''}`,
    );
  }
  return table.value as Record<string, unknown>;
}

function sizeOf(key: string, value: unknown): number {
  try {
    return 1 + Buffer.byteLength(key) + write(key, value).bytes;
  } catch {
    return 0;
  }
}

function largestHeader(headers: Record<string, unknown>): { key: string; bytes: number } | undefined {
  let largest: { key: string; bytes: number } | undefined;
  for (const key in headers) {
    const bytes = sizeOf(key, headers[key]);
    if (!largest || bytes > largest.bytes) largest = { key, bytes };
  }
  return largest;
}

/** Headers that can be written, and what had to change for that. */
export interface WritableHeaders {
  headers: Record<string, JsonValue>;
  /** One readable line per header that was replaced, e.g. `header "ts" (…) kept as text`. */
  changes: string[];
}

/**
 * The headers of a message that must leave its queue whatever its headers hold (a dead letter):
 * a value that cannot be written is kept as text, and while the table is above amqplib's limit the
 * largest header not in `keep` is left out. Every change is described in `changes`.
 */
export function writableHeaders(
  headers: Record<string, JsonValue>,
  keep: ReadonlySet<string> = new Set(),
): WritableHeaders {
  const out: Record<string, JsonValue> = { ...headers };
  const changes: string[] = [];
  for (const key in out) {
    try {
      write(key, out[key]);
    } catch (error) {
      const why =
        error instanceof UnwritableHeaderError
          ? error.message.replace(/^header "[^"]*" /, '')
          : String(error);
      setOwn(out, key, describe(textOf(out[key])));
      changes.push(`header "${key}" ${why}: kept as text`);
    }
  }
  for (;;) {
    let total = 4;
    let largest: { key: string; bytes: number } | undefined;
    for (const key in out) {
      const bytes = sizeOf(key, out[key]);
      total += bytes;
      if (!keep.has(key) && (!largest || bytes > largest.bytes)) largest = { key, bytes };
    }
    if (total <= MAX_HEADER_TABLE_BYTES || !largest) break;
    delete out[largest.key];
    changes.push(
      `header "${largest.key}" (${largest.bytes} bytes) left out: the header table would be above amqplib's ${MAX_HEADER_TABLE_BYTES} bytes`,
    );
  }
  return { headers: out, changes };
}

/** What an unwritable value is shown as: a typed value by its value, anything else as it is. */
function textOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null && isTypedValue(value) ? value.value : value;
}
