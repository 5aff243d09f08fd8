/**
 * How many times each offset of one partition has been handed out, for the offsets not yet
 * committed. Kafka keeps no per-record state, so without this a record replayed after a crash or
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
    for (const [from, to, count] of this.#runs) {
      if (offset < from) return 0;
      if (offset <= to) return count;
    }
    return 0;
  }

  /** Counts one more hand-out of `offset`. */
  add(offset: number): void {
    const runs = this.#runs;
    const i = runs.findIndex(([, to]) => to >= offset);
    const count = this.countOf(offset) + 1;
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

  /** How many offsets in [from, to) were handed out at least once. */
  handedOutBetween(from: number, to: number): number {
    let n = 0;
    for (const [f, t] of this.#runs) n += Math.max(0, Math.min(t + 1, to) - Math.max(f, from));
    return n;
  }

  /** `from-to:count,…`, compact enough for a commit's metadata (4 KiB by default). */
  serialize(): string {
    return this.#runs.map(([f, t, c]) => (f === t ? `${f}:${c}` : `${f}-${t}:${c}`)).join(',');
  }

  /** Reads what serialize wrote; anything unreadable counts as no hand-outs (never throws). */
  static parse(text: string | null | undefined): HandoutCounts {
    const runs: [number, number, number][] = [];
    for (const part of (text ?? '').split(',')) {
      const m = /^(\d+)(?:-(\d+))?:(\d+)$/.exec(part);
      if (!m) continue;
      const from = Number(m[1]);
      runs.push([from, m[2] === undefined ? from : Number(m[2]), Number(m[3])]);
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
