import type { Transport } from '../transport/transport.js';
import { type DeadLetterFilter, matchesDeadLetterFilter } from './dead-letter-filter.js';
import { type DeadLetterPassOptions, passOverDeadLetters } from './dead-letter-pass.js';
import type { DeadLetterProgress } from './dead-letter-progress.js';

/** Options of purgeDeadLetters. */
export interface PurgeDeadLettersOptions extends DeadLetterPassOptions {
  /** Only matching letters are removed (raw ones included); the others are given back. */
  filter?: DeadLetterFilter;
  /** Remove nothing: count what would go. */
  dryRun?: boolean;
  onProgress?: (progress: DeadLetterProgress) => void;
}

/** The counts of a purge. */
export interface PurgeReport {
  deadLetterQueue: string;
  /** Letters the queue reported waiting when the purge began. */
  waiting: number;
  seen: number;
  purged: number;
  wouldPurge: number;
  /** Letters whose removal the broker refused (still there). */
  failed: number;
  unmatched: number;
  dryRun: boolean;
}

/**
 * Removes dead letters for good: every letter of the pass, or those matching the filter, is
 * acked. Through the contract (one ack per letter) rather than a broker's purge, so a filter
 * works and letters arriving meanwhile are not lost with the rest.
 */
export async function purgeDeadLetters(
  transport: Transport,
  options: PurgeDeadLettersOptions,
): Promise<PurgeReport> {
  const dryRun = options.dryRun === true;
  const report: PurgeReport = {
    deadLetterQueue: '',
    waiting: 0,
    seen: 0,
    purged: 0,
    wouldPurge: 0,
    failed: 0,
    unmatched: 0,
    dryRun,
  };
  const summary = await passOverDeadLetters(transport, options, async (letter, delivery, pass) => {
    let verdict: 'settled' | 'give-back' = 'give-back';
    if (options.filter && !matchesDeadLetterFilter(letter, options.filter)) report.unmatched++;
    else if (dryRun) report.wouldPurge++;
    else {
      try {
        await delivery.ack();
        report.purged++;
        verdict = 'settled';
      } catch (error) {
        report.failed++;
        options.onError?.(error);
      }
    }
    options.onProgress?.({
      operation: 'purge',
      seen: pass.seen,
      waiting: pass.waiting,
      counts: {
        purged: dryRun ? report.wouldPurge : report.purged,
        failed: report.failed,
        unmatched: report.unmatched,
      },
    });
    return verdict;
  });
  report.deadLetterQueue = summary.deadLetterQueue;
  report.waiting = summary.waiting;
  report.seen = summary.seen;
  return report;
}
