/** Count stored for an offset that was settled (acked or dead-lettered): never handed out again. */
const DONE = -1;

/**
 * How many times each offset of one partition has been handed out, for the offsets not yet
 * committed, and which of them were settled above an unsettled one (the committed offset cannot
 * pass those yet; the next owner skips them instead of running them again). Kafka keeps no per-record state, so without this a record replayed after a crash or
 * a rebalance would come back with deliveryCount 1 forever, and the Worker's delivery limit could
 * never stop a message that crashes its worker. Stored as runs `[from, to, count]` (inclusive,
 * sorted, disjoint): hand-outs are nearly contiguous, so a partition needs a few runs.
 */
export class HandoutCounts {
  #runs: [from: number, to: number, count: number][];

  constructor(runs: readonly (readonly [number, number, number])[] = []) {
    this.#runs = runs.map(([f, t, c]) => [f, t, c]);
  }

  /** Times `offset` was handed out so far. */
  countOf(offset: number): number {
    return Math.max(0, this.#valueOf(offset));
  }

  /** Whether `offset` was settled. */
  isDone(offset: number): boolean {
    return this.#valueOf(offset) === DONE;
  }

  /** Counts one more hand-out of `offset`. */
  add(offset: number): void {
    this.#set(offset, this.countOf(offset) + 1);
  }

  /** Marks `offset` settled. */
  markDone(offset: number): void {
    this.#set(offset, DONE);
  }

  #valueOf(offset: number): number {
    for (const [from, to, count] of this.#runs) {
      if (offset < from) return 0;
      if (offset <= to) return count;
    }
    return 0;
  }

  #set(offset: number, count: number): void {
    const runs = this.#runs;
    const i = runs.findIndex(([, to]) => to >= offset);
    if (i === -1 || runs[i]![0] > offset) {
      runs.splice(i === -1 ? runs.length : i, 0, [offset, offset, count]);
    } else {
      const [from, to, old] = runs[i]!;
      const pieces: [number, number, number][] = [];
      if (from < offset) pieces.push([from, offset - 1, old]);
      pieces.push([offset, offset, count]);
      if (offset < to) pieces.push([offset + 1, to, old]);
      runs.splice(i, 1, ...pieces);
    }
    this.#merge();
  }

  /** Forgets offsets below `offset` (committed: they never come back). */
  dropBelow(offset: number): void {
    this.#runs = this.#runs
      .filter(([, to]) => to >= offset)
      .map(([from, to, count]) => [Math.max(from, offset), to, count]);
  }

  /** How many offsets in [from, to) were handed out and not settled. */
  handedOutBetween(from: number, to: number): number {
    let n = 0;
    for (const [f, t, c] of this.#runs) if (c > 0) n += Math.max(0, Math.min(t + 1, to) - Math.max(f, from));
    return n;
  }

  /** How many offsets in [from, to) were settled above an unsettled one. */
  doneBetween(from: number, to: number): number {
    let n = 0;
    for (const [f, t, c] of this.#runs)
      if (c === DONE) n += Math.max(0, Math.min(t + 1, to) - Math.max(f, from));
    return n;
  }

  /** `from-to:count,…` (`d` for settled), compact enough for a commit's metadata (4 KiB by default). */
  serialize(): string {
    return this.#runs.map(([f, t, c]) => `${f === t ? f : `${f}-${t}`}:${c === DONE ? 'd' : c}`).join(',');
  }

  /** Reads what serialize wrote; anything unreadable counts as no hand-outs (never throws). */
  static parse(text: string | null | undefined): HandoutCounts {
    const runs: [number, number, number][] = [];
    for (const part of (text ?? '').split(',')) {
      const m = /^(\d+)(?:-(\d+))?:(\d+|d)$/.exec(part);
      if (!m) continue;
      const from = Number(m[1]);
      runs.push([from, m[2] === undefined ? from : Number(m[2]), m[3] === 'd' ? DONE : Number(m[3])]);
    }
    runs.sort((a, b) => a[0] - b[0]);
    return new HandoutCounts(runs);
  }

  /** Number of runs (for the size bound). */
  get size(): number {
    return this.#runs.length;
  }

  /** Drops the lowest runs until the text fits `maxChars`: those offsets then count low. */
  trimTo(maxChars: number): void {
    while (this.#runs.length > 0 && this.serialize().length > maxChars) this.#runs.shift();
  }

  #merge(): void {
    const merged: [number, number, number][] = [];
    for (const run of this.#runs) {
      const last = merged[merged.length - 1];
      if (last && last[1] + 1 === run[0] && last[2] === run[2]) last[1] = run[1];
      else merged.push(run);
    }
    this.#runs = merged;
  }
}
