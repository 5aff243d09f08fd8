import { MalformedMessageError } from '../errors/message-errors.js';

/**
 * Formats a date the way Python's `isoformat()` does for an aware UTC datetime:
 * exactly six fraction digits and `+00:00`. Celery 5.2 reads the fraction digits as a count of
 * microseconds, so JavaScript's three-digit `toISOString()` would be read 1000x too small.
 */
export function formatCeleryDate(date: Date): string {
  const iso = date.toISOString(); // 2026-11-24T02:12:18.092Z
  return `${iso.slice(0, 23)}000+00:00`;
}

/** Celery 5.2.6 writes naive UTC `isoformat()` for `date_done`; newer releases add `+00:00`. */
export function formatNaiveCeleryDate(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses every date form Celery writes or accepts: `Z` or any `±HH:MM` offset, naive values as
 * UTC (protocol v2's rule), 0 to 9 fraction digits (a true fraction, not Celery 5.2's microsecond
 * count), and kombu >= 5.3's `{"__type__": "datetime", "__value__": ...}` tag.
 * Throws MalformedMessageError naming `field` for anything else.
 */
export function parseCeleryDate(value: unknown, field: string): Date {
  const text = untag(value);
  if (typeof text !== 'string') {
    throw new MalformedMessageError(`${field} must be an ISO 8601 string, got ${typeof value}`);
  }
  const m = ISO_DATE.exec(text.trim());
  if (!m) throw new MalformedMessageError(`${field} is not an ISO 8601 date: ${JSON.stringify(text)}`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  // Whole milliseconds from the first three digits: exact, where `0.999999999 * 1000` would be
  // rounded up into the next second once added to an epoch.
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const wall = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
  // Date.UTC rolls over out-of-range fields (month 0, Feb 30, minute 60); Python rejects them.
  const invalid =
    Number.isNaN(wall.getTime()) ||
    wall.getUTCFullYear() !== Number(y) ||
    wall.getUTCMonth() !== Number(mo) - 1 ||
    wall.getUTCDate() !== Number(d) ||
    wall.getUTCHours() !== Number(h) ||
    wall.getUTCMinutes() !== Number(mi) ||
    wall.getUTCSeconds() !== Number(s);
  let epoch = wall.getTime();
  let offsetOk = true;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMinutes = Number(digits.slice(2, 4) || '0');
    offsetOk = offsetHours <= 23 && offsetMinutes <= 59;
    epoch -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  const date = new Date(epoch);
  if (invalid || !offsetOk || Number.isNaN(date.getTime())) {
    throw new MalformedMessageError(`${field} is not a valid date: ${JSON.stringify(text)}`);
  }
  return date;
}

function untag(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && '__type__' in value && '__value__' in value) {
    return (value as { __value__: unknown }).__value__;
  }
  return value;
}
