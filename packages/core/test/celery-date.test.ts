import { describe, expect, it } from 'vitest';
import {
  formatCeleryDate,
  formatNaiveCeleryDate,
  MalformedMessageError,
  parseCeleryDate,
} from '../src/index.js';

const INSTANT = new Date(Date.UTC(2026, 10, 24, 2, 12, 18, 92));

describe('formatCeleryDate', () => {
  it('writes exactly six fraction digits and a +00:00 offset, like Python isoformat()', () => {
    expect(formatCeleryDate(INSTANT)).toBe('2026-11-24T02:12:18.092000+00:00');
  });

  it('writes six zero digits for a whole second', () => {
    expect(formatCeleryDate(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 0)))).toBe(
      '2026-01-01T00:00:00.000000+00:00',
    );
  });

  it('writes a naive UTC form without offset for Celery 5.2 date_done', () => {
    expect(formatNaiveCeleryDate(INSTANT)).toBe('2026-11-24T02:12:18.092000');
  });

  it('round-trips through parseCeleryDate', () => {
    expect(parseCeleryDate(formatCeleryDate(INSTANT), 'eta').getTime()).toBe(INSTANT.getTime());
  });
});

describe('parseCeleryDate', () => {
  const ms = (text: unknown): number => parseCeleryDate(text, 'eta').getTime();

  it('accepts a Z suffix', () => {
    expect(ms('2026-11-24T02:12:18.092Z')).toBe(INSTANT.getTime());
  });

  it('accepts a +00:00 offset', () => {
    expect(ms('2026-11-24T02:12:18.092000+00:00')).toBe(INSTANT.getTime());
  });

  it('applies a positive offset (+01:00 is one hour ahead of UTC)', () => {
    expect(ms('2026-11-24T03:12:18.092000+01:00')).toBe(INSTANT.getTime());
  });

  it('applies a negative offset with minutes (-05:30)', () => {
    expect(ms('2026-11-23T20:42:18.092000-05:30')).toBe(INSTANT.getTime());
  });

  it('reads a naive value as UTC (protocol v2 rule)', () => {
    expect(ms('2026-11-24T02:12:18.092000')).toBe(INSTANT.getTime());
  });

  it('accepts a space instead of T', () => {
    expect(ms('2026-11-24 02:12:18.092+00:00')).toBe(INSTANT.getTime());
  });

  it.each([
    ['2026-11-24T02:12:18+00:00', 0],
    ['2026-11-24T02:12:18.5+00:00', 500],
    ['2026-11-24T02:12:18.09+00:00', 90],
    ['2026-11-24T02:12:18.092+00:00', 92],
    ['2026-11-24T02:12:18.0920+00:00', 92],
    ['2026-11-24T02:12:18.09200+00:00', 92],
    ['2026-11-24T02:12:18.092999+00:00', 92],
    ['2026-11-24T02:12:18.1234567+00:00', 123],
    ['2026-11-24T02:12:18.12345678+00:00', 123],
    ['2026-11-24T02:12:18.999999999+00:00', 999],
  ])('reads the fraction of %s as a true fraction (%i ms), not as a microsecond count', (text, millis) => {
    expect(ms(text)).toBe(Date.UTC(2026, 10, 24, 2, 12, 18) + millis);
  });

  it('reads every three-digit fraction exactly', () => {
    for (let i = 0; i < 1000; i++) {
      const digits = String(i).padStart(3, '0');
      expect(parseCeleryDate(`2026-11-24T02:12:18.${digits}+00:00`, 'eta').getUTCMilliseconds()).toBe(i);
    }
  });

  it('accepts a kombu >= 5.3 tagged datetime', () => {
    expect(ms({ __type__: 'datetime', __value__: '2026-11-24T02:12:18.092000+00:00' })).toBe(
      INSTANT.getTime(),
    );
  });

  it('accepts a date without a time as midnight UTC', () => {
    expect(ms('2026-11-24')).toBe(Date.UTC(2026, 10, 24));
  });

  it.each([
    ['not a date'],
    [''],
    ['2026-11-24T02:12:18.092+00:00 trailing'],
    ['2026/11/24 02:12:18'],
    ['2026-11-24T02:12:18.0123456789+00:00'],
    ['2026-13-01T00:00:00+00:00'],
    ['2026-00-10T00:00:00+00:00'],
    ['2026-01-00T00:00:00+00:00'],
    ['2026-02-30T00:00:00+00:00'],
    ['2026-01-01T24:00:00+00:00'],
    ['2026-01-01T10:60:00+00:00'],
    ['2026-01-01T10:00:61+00:00'],
    ['2026-01-01T10:00:00+25:00'],
  ])('rejects %j with MalformedMessageError', (text) => {
    expect(() => parseCeleryDate(text, 'eta')).toThrow(MalformedMessageError);
  });

  it.each([[12345], [null], [undefined], [{}], [['2026-11-24']], [{ __type__: 'datetime', __value__: 5 }]])(
    'rejects the non-string %j with MalformedMessageError',
    (value) => {
      expect(() => parseCeleryDate(value, 'eta')).toThrow(MalformedMessageError);
    },
  );

  it('names the field in the reason', () => {
    const error = catchError(() => parseCeleryDate('garbage', 'expires'));
    expect(error).toBeInstanceOf(MalformedMessageError);
    expect((error as MalformedMessageError).reason).toContain('expires');
    expect((error as MalformedMessageError).code).toBe('MALFORMED_MESSAGE');
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
