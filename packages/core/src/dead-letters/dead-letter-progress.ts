/**
 * Where a long dead-letter operation is, told after each letter: for a progress bar on a terminal
 * or a dashboard. `counts` are the operation's own tallies so far (redrive: moved, skipped, failed,
 * unmatched; purge: purged, failed, unmatched; list: matched).
 */
export interface DeadLetterProgress {
  operation: 'list' | 'show' | 'redrive' | 'purge';
  /** Letters read so far. */
  seen: number;
  /** Letters the queue reported waiting when the operation began (the pass takes at most these). */
  waiting: number;
  counts: Readonly<Record<string, number>>;
}
