import type { Broker, Cluster } from 'kafkajs';
import { HandoutCounts } from './handout-counts.js';
import type { OffsetReader } from './renewing-admin.js';
import { handoutLedgerGroupOf } from './topic-names.js';

/** Kafka's default `offset.metadata.max.bytes`; a longer commit metadata is refused. */
const MAX_METADATA_CHARS = 4000;

/**
 * The durable record of how often each uncommitted offset of a topic was handed out, so that
 * deliveryCount stays exact when a record is replayed by another member after a crash, a close or
 * a rebalance. It lives in the commit metadata of a member-less consumer group beside the real
 * one: one OffsetCommit per write, no extra topic, and it is read in one OffsetFetch when a
 * partition is assigned. A member-less group accepts commits with generation -1 (what tools such
 * as kafka-consumer-groups --reset-offsets use).
 *
 * Writes come before the hand-out they count (write-ahead): a crash between the two over-counts
 * nothing that was not about to be delivered, and never under-counts a delivery.
 */
export class HandoutLedger {
  readonly #topic: string;
  readonly #groupId: string;
  readonly #admin: OffsetReader;
  readonly #cluster: () => Cluster | undefined;
  #coordinator: Promise<Broker> | undefined;
  /** Per partition: the write on its way and whether another is due after it. */
  readonly #writes = new Map<
    number,
    { running: Promise<void> | undefined; pending: Promise<void> | undefined }
  >();

  constructor(topic: string, admin: OffsetReader, cluster: () => Cluster | undefined) {
    this.#topic = topic;
    this.#groupId = handoutLedgerGroupOf(topic);
    this.#admin = admin;
    this.#cluster = cluster;
  }

  /** The counts of every partition of the topic, as last written. */
  async load(): Promise<Map<number, HandoutCounts>> {
    const topics = await this.#admin.fetchOffsets({ groupId: this.#groupId, topics: [this.#topic] });
    const out = new Map<number, HandoutCounts>();
    for (const { partition, metadata } of topics[0]?.partitions ?? []) {
      out.set(partition, HandoutCounts.parse(metadata));
    }
    return out;
  }

  /**
   * Stores the counts of `partition` (read when the write starts). Writes of one partition run one
   * at a time; calls made while one runs share the next write, so hand-outs batch themselves.
   */
  store(partition: number, counts: () => HandoutCounts): Promise<void> {
    let writes = this.#writes.get(partition);
    if (!writes) {
      writes = { running: undefined, pending: undefined };
      this.#writes.set(partition, writes);
    }
    const w = writes;
    const start = (): Promise<void> => {
      w.running = this.#write(partition, counts()).finally(() => {
        w.running = undefined;
      });
      return w.running;
    };
    if (!w.running) return start();
    w.pending ??= w.running
      .catch(() => {})
      .then(() => {
        w.pending = undefined;
        return start();
      });
    return w.pending;
  }

  async #write(partition: number, counts: HandoutCounts): Promise<void> {
    counts.trimTo(MAX_METADATA_CHARS);
    const metadata = counts.serialize();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const coordinator = await this.#coordinatorBroker();
        // kafkajs's typings omit the metadata field its OffsetCommit encoders write.
        const partitions: { partition: number; offset: string; metadata: string }[] = [
          { partition, offset: '0', metadata },
        ];
        await coordinator.offsetCommit({
          groupId: this.#groupId,
          groupGenerationId: -1,
          memberId: '',
          topics: [{ topic: this.#topic, partitions }],
        });
        return;
      } catch (error) {
        this.#coordinator = undefined;
        if (attempt >= 2) throw error;
      }
    }
  }

  #coordinatorBroker(): Promise<Broker> {
    const cluster = this.#cluster();
    if (!cluster) return Promise.reject(new Error('the consumer has not connected yet'));
    this.#coordinator ??= cluster.findGroupCoordinator({ groupId: this.#groupId });
    return this.#coordinator;
  }
}
