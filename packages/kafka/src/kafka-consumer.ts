import {
  type DeliveryHandler,
  type DeliveryPort,
  type HeldDeliveries,
  handToHandler,
  MalformedMessageError,
  PrefetchWindow,
  TransportDelivery,
  type WireMessage,
} from '@conveyor/core/transport';
import {
  type Admin,
  type Cluster,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  PartitionAssigners,
} from 'kafkajs';
import { HandoutCounts } from './handout-counts.js';
import { HandoutLedger } from './handout-ledger.js';
import { decodeRecordValue } from './kafka-record.js';
import { PartitionLease } from './partition-lease.js';

/** What a delivery's receipt names: the record and the lease it was handed out under. */
export interface KafkaReceipt {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  readonly value: Buffer | null;
  readonly lease: PartitionLease;
}

/** What a consumer needs of its transport. */
export interface KafkaConsumerLink {
  readonly queue: string;
  readonly topic: string;
  readonly groupId: string;
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly held: HeldDeliveries;
  readonly sessionTimeoutMs: number;
  readonly commitIntervalMs: number;
  /** Per-key order: a record waits while an earlier one of its key is out. */
  readonly keyOrder: boolean;
  /** The port every delivery of this consumer settles through (built by the transport). */
  port(consumer: KafkaQueueConsumer): DeliveryPort<KafkaReceipt>;
}

/** kafkajs error types that mean "the group is rebalancing": the run loop rejoins by itself. */
const REBALANCING = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION']);

/**
 * One consumer-group member reading one topic. Records are handed out concurrently up to the
 * prefetch bound, each offset's settlement is tracked, and a partition's committed offset only
 * moves past records that were settled (acked, dead-lettered or requeued as a copy): a crash
 * redelivers every unfinished record and never skips one. Hand-outs are counted in the
 * HandoutLedger before they happen, so a replayed record carries its true delivery count.
 */
export class KafkaQueueConsumer {
  readonly #link: KafkaConsumerLink;
  readonly #handler: DeliveryHandler;
  readonly #onError: (error: unknown) => void;
  readonly #window: PrefetchWindow;
  readonly #port: DeliveryPort<KafkaReceipt>;
  readonly #ledger: HandoutLedger;
  readonly #leases = new Map<number, PartitionLease>();
  #consumer: Consumer | undefined;
  #cluster: Cluster | undefined;
  #memberId: string | undefined;
  #ledgerCounts: Promise<Map<number, HandoutCounts>> | undefined;
  /** Slots promised to records being handed out (the ledger write is on its way). */
  #reserved = 0;
  #waiting = 0;
  #wakers: (() => void)[] = [];
  #stopped = false;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #committing: Promise<void> = Promise.resolve();

  constructor(
    link: KafkaConsumerLink,
    handler: DeliveryHandler,
    prefetch: number,
    onError: (e: unknown) => void,
  ) {
    this.#link = link;
    this.#handler = handler;
    this.#onError = onError;
    this.#window = new PrefetchWindow(prefetch, () => this.#wake());
    this.#port = link.port(this);
    this.#ledger = new HandoutLedger(link.topic, link.admin, () => this.#cluster);
  }

  get queue(): string {
    return this.#link.queue;
  }

  /** Joins the group and starts fetching; resolves once the first assignment arrived. */
  async start(): Promise<void> {
    const link = this.#link;
    const consumer = link.kafka.consumer({
      groupId: link.groupId,
      sessionTimeout: link.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(link.sessionTimeoutMs / 10)),
      rebalanceTimeout: Math.max(link.sessionTimeoutMs, 10_000),
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // The round-robin assigner, unchanged; the factory is where kafkajs hands out its cluster,
      // which the ledger's member-less commits go through.
      partitionAssigners: [
        (config) => {
          this.#cluster = config.cluster;
          return PartitionAssigners.roundRobin(config);
        },
      ],
      retry: { restartOnFailure: async () => !this.#stopped },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#joined(payload.memberId, payload.memberAssignment[link.topic] ?? []);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      // Commits with the ending generation are still accepted while the group re-forms.
      void this.#flushCommits();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => this.#onError(payload.error));
    await consumer.connect();
    await consumer.subscribe({ topic: link.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  /** Stops handing out; held deliveries can still be settled and committed. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#consumer?.pause([{ topic: this.#link.topic }]);
    } catch {
      // Not running yet: nothing to pause.
    }
    this.#wake();
  }

  /** Commits what was settled and leaves the group; unsettled records go to the next owner. */
  async close(): Promise<void> {
    this.stop();
    clearTimeout(this.#commitTimer);
    await this.#flushCommits().catch(() => {});
    for (const lease of this.#leases.values()) lease.lose();
    this.#leases.clear();
    await this.#consumer?.disconnect().catch(this.#onError);
  }

  /** Whether the lease a delivery came under is still this consumer's. */
  holds(receipt: KafkaReceipt): boolean {
    return !receipt.lease.lost && this.#leases.get(receipt.partition) === receipt.lease;
  }

  /**
   * A delivery was settled (acked, dead-lettered, or requeued as a copy): its offset no longer
   * holds the commit back, and the next record of its key may go out.
   */
  settled(receipt: KafkaReceipt): void {
    const lease = receipt.lease;
    if (lease.lost) return;
    const next = lease.settle(receipt.offset, receipt.key);
    if (next) {
      this.#waiting -= 1;
      this.#reserved += 1;
      void this.#handOut(lease, [next]);
    }
    this.#scheduleCommit();
  }

  #joined(memberId: string, partitions: number[]): void {
    const assigned = new Set(partitions);
    const sameMember = memberId === this.#memberId;
    this.#memberId = memberId;
    for (const [partition, lease] of this.#leases) {
      if (sameMember && assigned.has(partition)) continue;
      this.#waiting -= lease.waiting;
      lease.lose();
      this.#leases.delete(partition);
    }
    this.#ledgerCounts = undefined;
    this.#wake();
  }

  #free(): number {
    return this.#window.free - this.#reserved - this.#waiting;
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }

  #live(payload: EachBatchPayload, lease: PartitionLease): boolean {
    return !this.#stopped && !lease.lost && payload.isRunning() && !payload.isStale();
  }

  /** Waits for a free slot, heartbeating meanwhile; false when the batch must be abandoned. */
  async #slot(payload: EachBatchPayload, lease: PartitionLease): Promise<boolean> {
    while (this.#live(payload, lease) && this.#free() <= 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      try {
        await payload.heartbeat();
      } catch (error) {
        if (REBALANCING.has((error as { type?: string }).type ?? '')) throw error;
        this.#onError(error);
      }
    }
    return this.#live(payload, lease);
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const lease = await this.#leaseOf(batch.partition);
    const records = batch.messages;
    let i = 0;
    while (i < records.length) {
      if (!(await this.#slot(payload, lease))) return;
      const ready: KafkaMessage[] = [];
      let room = this.#free();
      let last: string | undefined;
      while (i < records.length && room > 0) {
        const record = records[i]!;
        i += 1;
        last = record.offset;
        // Fetched again after a rebalance that left the partition here: already taken.
        if (Number(record.offset) < lease.nextOffset) continue;
        room -= 1;
        if (lease.take(record, this.#link.keyOrder ? keyOf(record) : undefined)) ready.push(record);
        else this.#waiting += 1;
      }
      this.#reserved += ready.length;
      if (ready.length > 0) await this.#handOut(lease, ready);
      if (last !== undefined) payload.resolveOffset(last);
    }
  }

  async #leaseOf(partition: number): Promise<PartitionLease> {
    const existing = this.#leases.get(partition);
    if (existing) return existing;
    this.#ledgerCounts ??= this.#ledger.load();
    let counts: HandoutCounts | undefined;
    try {
      counts = (await this.#ledgerCounts).get(partition);
    } catch (error) {
      this.#ledgerCounts = undefined;
      this.#onError(error);
    }
    const again = this.#leases.get(partition);
    if (again) return again;
    const lease = new PartitionLease(partition, counts ?? new HandoutCounts());
    this.#leases.set(partition, lease);
    return lease;
  }

  /** Counts the hand-outs durably, then hands the records out. */
  async #handOut(lease: PartitionLease, records: KafkaMessage[]): Promise<void> {
    for (const record of records) lease.counts.add(Number(record.offset));
    try {
      await this.#ledger.store(lease.partition, () => lease.counts);
    } catch (error) {
      // Handed out all the same: a lost count is better than a stalled queue.
      this.#onError(error);
    }
    for (const record of records) {
      this.#reserved -= 1;
      if (lease.lost) continue;
      this.#deliver(lease, record);
    }
    this.#wake();
  }

  #deliver(lease: PartitionLease, record: KafkaMessage): void {
    let message: WireMessage | null = null;
    let malformed: MalformedMessageError | null = null;
    try {
      message = decodeRecordValue(record.value).message;
    } catch (error) {
      malformed = error instanceof MalformedMessageError ? error : new MalformedMessageError(String(error));
    }
    const offset = Number(record.offset);
    const key = this.#link.keyOrder ? keyOf(record) : undefined;
    const receipt: KafkaReceipt = {
      topic: this.#link.topic,
      partition: lease.partition,
      offset,
      key,
      value: record.value,
      lease,
    };
    const delivery = new TransportDelivery<KafkaReceipt>({
      port: this.#port,
      held: this.#link.held,
      window: this.#window,
      receipt,
      queue: this.#link.queue,
      message,
      malformed,
      raw: () => record.value ?? new Uint8Array(0),
      deliveryCount: Math.max(1, lease.counts.countOf(offset)),
      orderingKey: keyOf(record),
    });
    handToHandler(this.#handler, delivery, this.#onError);
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#flushCommits();
    }, this.#link.commitIntervalMs);
  }

  /** Commits every partition's settled prefix; one commit at a time. */
  #flushCommits(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      const consumer = this.#consumer;
      if (!consumer) return;
      const due: { lease: PartitionLease; offset: number }[] = [];
      for (const lease of this.#leases.values()) {
        const offset = lease.commitOffset();
        if (offset > lease.committed) due.push({ lease, offset });
      }
      if (due.length === 0) return;
      try {
        await consumer.commitOffsets(
          due.map(({ lease, offset }) => ({
            topic: this.#link.topic,
            partition: lease.partition,
            offset: String(offset),
          })),
        );
        for (const { lease, offset } of due) {
          lease.committed = offset;
          lease.counts.dropBelow(offset);
        }
      } catch (error) {
        // A rebalance ends the generation: the join that follows decides what is still ours.
        if (!REBALANCING.has((error as { type?: string }).type ?? '')) this.#onError(error);
        this.#scheduleCommit();
      }
    });
    return this.#committing;
  }
}

function keyOf(record: KafkaMessage): string | undefined {
  return record.key === null || record.key === undefined ? undefined : record.key.toString('utf8');
}
