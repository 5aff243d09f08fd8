import type { Transport } from '@conveyor/core/transport';

/**
 * What transports told the suite while a case ran: errors passed to a consumer's `onError`, and
 * settles that failed in the background. Keyed by transport object, so concurrent cases never mix
 * their reports; the case runner quotes them when a case fails.
 */
const reported = new WeakMap<Transport, unknown[]>();

/** Records an error a transport reported (or a background settle of one of its deliveries raised). */
export function recordTransportError(transport: Transport, error: unknown): void {
  const errors = reported.get(transport);
  if (errors) errors.push(error);
  else reported.set(transport, [error]);
}

/** The errors recorded for this transport so far, oldest first. */
export function transportErrorsOf(transport: Transport): readonly unknown[] {
  return reported.get(transport) ?? [];
}

/** `Name: message` of an error (its code too when it has one), for failure reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const withCode = typeof code === 'string' && !error.message.includes(code) ? ` [${code}]` : '';
    return `${error.name}${withCode}: ${error.message}`;
  }
  return String(error);
}

/**
 * One line summing up errors: identical descriptions are counted, not repeated, and at most
 * `limit` distinct ones are shown.
 */
export function summarizeErrors(errors: readonly unknown[], limit = 5): string {
  const counts = new Map<string, number>();
  for (const error of errors) {
    const text = describeError(error);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  const shown = [...counts].slice(0, limit).map(([text, n]) => (n > 1 ? `${text} (×${n})` : text));
  const hidden = counts.size - shown.length;
  return hidden > 0 ? `${shown.join('; ')}; and ${hidden} more` : shown.join('; ');
}
