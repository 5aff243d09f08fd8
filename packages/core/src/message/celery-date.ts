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
  const ms = frac === '' ? 0 : Number(`0.${frac}`) * 1000;
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + ms;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    epoch -= sign * offsetMin * 60_000;
  }
  const date = new Date(epoch);
  if (Number.isNaN(date.getTime()) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23) {
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
