import type { KafkaMessage } from 'kafkajs';
import type { HandoutCounts } from './handout-counts.js';

/**
 * One partition as assigned to one consumer in one membership of its group: the offsets it took
 * and has not settled, the keys busy with an unsettled delivery, the records waiting for their
 * key, and the offset it may commit. A new membership (or losing the partition) makes a new
 * lease, so a settle can tell that its partition moved on (LeaseLostError) without a broker call.
 */
export class PartitionLease {
  readonly partition: number;
  /** Hand-outs per uncommitted offset, as the ledger holds them. */
  readonly counts: HandoutCounts;
  /** True once the partition moved away (or the membership ended). */
  lost = false;
  /** The first offset not taken from a fetch yet; -1 before the first fetch. */
  nextOffset = -1;
  /** The offset last committed by this lease; -1 before the first commit. */
  committed = -1;
  /** Settlements the ledger has not stored yet. */
  ledgerDirty = false;
  /**
   * Records taken from fetches and free to go out, oldest first: the consumer hands them out as
   * slots free up, while kafkajs fetches the next batch.
   */
  readonly backlog: KafkaMessage[] = [];
  /** Offsets taken and not settled: handed out, or waiting for their key. */
  readonly #open = new Set<number>();
  /** Keys with a delivery out, and the records of that key waiting behind it (oldest first). */
  readonly #keys = new Map<string, KafkaMessage[]>();

  constructor(partition: number, counts: HandoutCounts) {
    this.partition = partition;
    this.counts = counts;
  }

  /**
   * Takes a fetched record. Returns true when it may be handed out now; false when an earlier
   * record of its key is still out, and it waits (per-key order with concurrent handlers).
   */
  take(record: KafkaMessage, key: string | undefined): boolean {
    const offset = Number(record.offset);
    this.nextOffset = offset + 1;
    this.#open.add(offset);
    if (key === undefined) return true;
    const queue = this.#keys.get(key);
    if (!queue) {
      this.#keys.set(key, []);
      return true;
    }
    queue.push(record);
    return false;
  }

  /**
   * Marks a handed-out offset settled. Returns the next record of its key, now free to be handed
   * out, if one waited.
   */
  settle(offset: number, key: string | undefined): KafkaMessage | undefined {
    this.#open.delete(offset);
    if (key === undefined) return undefined;
    const queue = this.#keys.get(key);
    const next = queue?.shift();
    if (next) return next;
    this.#keys.delete(key);
    return undefined;
  }

  /** The offset that may be committed: below the lowest unsettled one, or past everything taken. */
  commitOffset(): number {
    if (this.nextOffset < 0) return -1;
    let lowest = this.nextOffset;
    for (const offset of this.#open) if (offset < lowest) lowest = offset;
    return lowest;
  }

  /** The partition moved: nothing of it may be settled or handed out any more. */
  lose(): void {
    this.lost = true;
    this.backlog.length = 0;
    this.#keys.clear();
  }
}
