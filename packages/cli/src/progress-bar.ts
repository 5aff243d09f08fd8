import type { DeadLetterProgress } from '@conveyor/core';

/** Where the bar is drawn: a terminal stream (standard error). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly columns?: number;
}

/** Redraws at most this often: a fast operation would otherwise spend its time drawing. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

/**
 * A one-line progress bar with counts, redrawn in place (`\r`) on a terminal: `[#####-----] 12/40
 * moved 10 skipped 1 failed 1`. It is only ever drawn on standard error, so standard output keeps
 * the plain final counts (and `--json`) for scripts.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #label: string;
  #lastDraw = 0;
  #drawn = false;
  #latest: DeadLetterProgress | undefined;

  constructor(stream: ProgressStream, label: string) {
    this.#stream = stream;
    this.#label = label;
  }

  update(progress: DeadLetterProgress): void {
    this.#latest = progress;
    const now = Date.now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.#draw(progress);
  }

  /** Draws the last state once more and ends the line, so later output starts on its own line. */
  finish(): void {
    if (this.#latest) this.#draw(this.#latest);
    if (this.#drawn) this.#stream.write('\n');
  }

  #draw(progress: DeadLetterProgress): void {
    this.#stream.write(`\r${formatProgress(this.#label, progress)}\x1b[K`);
    this.#drawn = true;
  }
}

/** The text of one bar (without control characters). */
export function formatProgress(label: string, progress: DeadLetterProgress): string {
  const total = Math.max(progress.waiting, progress.seen, 1);
  const filled = Math.round((progress.seen / total) * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
  const counts = Object.entries(progress.counts)
    .map(([name, value]) => `${name} ${value}`)
    .join(' ');
  return `${label} [${bar}] ${progress.seen}/${progress.waiting} ${counts}`;
}
