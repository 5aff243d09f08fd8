import { InvalidOptionError } from '../errors/transport-errors.js';
import type { DeadLetter } from './dead-letter.js';

/**
 * Which letters an operation takes. Every field given must match (they are ANDed); an empty filter
 * takes every letter.
 */
export interface DeadLetterFilter {
  /** Task name, exactly, or a pattern where `*` stands for any run of characters (`emails.*`). */
  task?: string;
  /** Text the reason contains, case-insensitive. */
  reason?: string;
  /**
   * Dead-lettered at or after this time. A letter that does not say when it was dead-lettered (no
   * x-conveyor-dead-lettered-at: moved by the broker itself, or written before the header existed)
   * does not match: its age is unknown, and an operation limited in time must not take it.
   */
  since?: Date;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A filter from `key=value` expressions, as the command line takes them (`task=emails.*`,
 * `reason=timeout`, `since=2h` or `since=2026-12-01T10:00:00Z`). `since` takes a duration back from
 * `now` (ms, s, m, h, d) or an ISO 8601 time. A malformed expression is an InvalidOptionError
 * naming `option` (the CLI's `--filter`).
 */
export function parseDeadLetterFilter(
  expressions: readonly string[],
  option = 'filter',
  now: Date = new Date(),
): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  for (const expression of expressions) {
    const at = expression.indexOf('=');
    const key = at < 0 ? expression : expression.slice(0, at).trim();
    const value = at < 0 ? '' : expression.slice(at + 1).trim();
    if (at < 0 || value === '') {
      throw new InvalidOptionError(option, `"${expression}" is not key=value (task=, reason= or since=)`);
    }
    if (key === 'task') filter.task = value;
    else if (key === 'reason') filter.reason = value;
    else if (key === 'since') filter.since = parseSince(value, option, now);
    else
      throw new InvalidOptionError(
        option,
        `unknown key "${key}" in "${expression}": use task=, reason= or since=`,
      );
  }
  return filter;
}

function parseSince(value: string, option: string, now: Date): Date {
  const duration = DURATION.exec(value);
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2]!]!);
  const date = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidOptionError(
      option,
      `since=${value} is neither a duration (30s, 15m, 2h, 7d) nor an ISO 8601 time (2026-12-01T10:00:00Z)`,
    );
  }
  return date;
}

/** True when the letter passes every field of the filter. */
export function matchesDeadLetterFilter(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.task !== undefined && (letter.task === null || !globMatches(filter.task, letter.task)))
    return false;
  if (
    filter.reason !== undefined &&
    !(letter.reason ?? '').toLowerCase().includes(filter.reason.toLowerCase())
  ) {
    return false;
  }
  if (
    filter.since !== undefined &&
    (letter.deadLetteredAt === null || letter.deadLetteredAt < filter.since)
  ) {
    return false;
  }
  return true;
}

/** True when the filter has no field: it takes every letter. */
export function isEmptyDeadLetterFilter(filter: DeadLetterFilter): boolean {
  return filter.task === undefined && filter.reason === undefined && filter.since === undefined;
}

function globMatches(pattern: string, text: string): boolean {
  if (!pattern.includes('*')) return pattern === text;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(text);
}
