import type { Transport } from '../transport/transport.js';
import type { DeadLetter } from './dead-letter.js';
import { type DeadLetterFilter, matchesDeadLetterFilter } from './dead-letter-filter.js';
import { type DeadLetterPassOptions, passOverDeadLetters } from './dead-letter-pass.js';
import type { DeadLetterProgress } from './dead-letter-progress.js';

/** Options of listDeadLetters. */
export interface ListDeadLettersOptions extends DeadLetterPassOptions {
  /** Only letters that match are returned (all are read and given back). */
  filter?: DeadLetterFilter;
  onProgress?: (progress: DeadLetterProgress) => void;
}

/** What listDeadLetters found. */
export interface DeadLetterListing {
  deadLetterQueue: string;
  /** Letters the queue reported waiting when the listing began. */
  waiting: number;
  /** Letters read. */
  seen: number;
  /** The letters read that match the filter, in the order they came. */
  letters: DeadLetter[];
}

/**
 * Reads the letters of a dead-letter queue without removing any: each is received, described and
 * given back (see passOverDeadLetters for the bounds, and for why reading counts as a delivery).
 */
export async function listDeadLetters(
  transport: Transport,
  options: ListDeadLettersOptions,
): Promise<DeadLetterListing> {
  const letters: DeadLetter[] = [];
  const summary = await passOverDeadLetters(transport, options, async (letter, _delivery, pass) => {
    if (!options.filter || matchesDeadLetterFilter(letter, options.filter)) letters.push(letter);
    options.onProgress?.({
      operation: 'list',
      seen: pass.seen,
      waiting: pass.waiting,
      counts: { matched: letters.length },
    });
    return 'give-back';
  });
  letters.sort((a, b) => a.index - b.index);
  return { deadLetterQueue: summary.deadLetterQueue, waiting: summary.waiting, seen: summary.seen, letters };
}
