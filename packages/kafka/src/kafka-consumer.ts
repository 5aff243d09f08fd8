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
import type { OffsetReader } from './renewing-admin.js';
import { stickyAssigner } from './sticky-assigner.js';

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
  /** Reads the hand-out ledger. */
  readonly admin: OffsetReader;
  readonly held: HeldDeliveries;
  readonly sessionTimeoutMs: number;
  readonly commitIntervalMs: number;
  /** Per-key order: a record waits while an earlier one of its key is out. */
  readonly keyOrder: boolean;
  /** Hand-outs wait until the ledger stored their count (see KafkaTransportOptions). */
  readonly countsBeforeHandout: boolean;
  /** The port every delivery of this consumer settles through (built by the transport). */
  port(consumer: KafkaQueueConsumer): DeliveryPort<KafkaReceipt>;
}

/** kafkajs error types that mean "the group is rebalancing": the run loop rejoins by itself. */
const REBALANCING = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION']);
/**
 * Commit refusals that mean the group forgot this member (its session timed out): whatever it held
 * has moved or will move to others.
 */
const LEASE_GONE = new Set(['UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/**
 * One consumer-group member reading one topic. Records are handed out concurrently up to the
 * prefetch bound, each offset's settlement is tracked, and a partition's committed offset only
 * moves past records that were settled (acked, dead-lettered or requeued as a copy): a crash
 * redelivers every unfinished record and never skips one. Hand-outs are counted in the
 * HandoutLedger (before or right after they happen, see deliveryCounts), so a replayed record
 * carries its true delivery count.
 */
export class KafkaQueueConsumer {
  readonly #link: KafkaConsumerLink;
  #handler: DeliveryHandler;
  #onError: (error: unknown) => void;
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
  /** Ledger writes on their way that hand-outs did not wait for (countsBeforeHandout false). */
  readonly #ledgerWrites = new Set<Promise<void>>();
  #wakers: (() => void)[] = [];
  #stopped = false;
  #rebalancing = false;
  #heartbeatCalledAt = 0;
  readonly #heartbeatEveryMs: number;
  #pumpScheduled = false;
  /** Fetched records held at most (beyond one fetch), waiting for slots. */
  readonly #maxBacklog: number;
  /** When the group last confirmed this member (a join, a heartbeat or a commit answered). */
  #lastContactAt = 0;
  #committing: Promise<void> = Promise.resolve();
  #nextCommit: Promise<boolean> | undefined;
  #lastCommitAt = 0;

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
    this.#heartbeatEveryMs = Math.max(100, Math.floor(link.sessionTimeoutMs / 20));
    this.#maxBacklog = Math.max(1000, prefetch * 4);
    this.#port = link.port(this);
    this.#ledger = new HandoutLedger(link.topic, link.admin, () => this.#cluster);
  }

  get queue(): string {
    return this.#link.queue;
  }

  /** The prefetch bound it was started with. */
  get prefetch(): number {
    return this.#window.prefetch;
  }

  /** Deliveries handed out and not settled. */
  get held(): number {
    return this.#window.held;
  }

  /**
   * Hands out again after stop(), to a new handler, keeping the group membership, the partitions
   * and the deliveries already out: what a new consume() of the same queue gets instead of a new
   * member (see KafkaTransport#consume).
   */
  revive(handler: DeliveryHandler, onError: (error: unknown) => void): void {
    this.#handler = handler;
    this.#onError = onError;
    this.#stopped = false;
    try {
      this.#consumer?.resume([{ topic: this.#link.topic }]);
    } catch {
      // Not running: nothing was paused.
    }
    this.#wake();
  }

  /** Joins the group and starts fetching; resolves once the first assignment arrived. */
  async start(): Promise<void> {
    const link = this.#link;
    const consumer = link.kafka.consumer({
      groupId: link.groupId,
      sessionTimeout: link.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(link.sessionTimeoutMs / 10)),
      // A member that died without leaving holds a rebalance up to this long (kafkajs: 60 s).
      rebalanceTimeout: link.sessionTimeoutMs,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // Conveyor's sticky assigner first (a rebalance moves as few partitions as it can, so little
      // in flight runs twice); then kafkajs's round-robin assigner under librdkafka's name for the
      // same strategy, which a group falls back to when a Python (kombu, confluent-kafka) worker
      // joins: kafkajs's own name is shared by no other client, and a group refuses members
      // without a common protocol. The factories are also where kafkajs hands out its cluster,
      // which the ledger's member-less commits go through.
      partitionAssigners: [
        (config) => {
          this.#cluster = config.cluster;
          return stickyAssigner(() => ({ [link.topic]: [...this.#leases.keys()] }))(config);
        },
        (config) => ({ ...PartitionAssigners.roundRobin(config), name: 'roundrobin' }),
      ],
      retry: { restartOnFailure: async () => !this.#stopped },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#joined(payload.memberId, payload.memberAssignment[link.topic] ?? []);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      // Nothing more goes out until the join says which partitions stay; what was settled is
      // committed now, while the group still accepts the ending generation's commits.
      this.#rebalancing = true;
      void this.#commitSoon();
    });
    consumer.on(consumer.events.HEARTBEAT, () => {
      this.#lastContactAt = Date.now();
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
    // Stopped while joining, before there was a run to pause.
    if (this.#stopped) consumer.pause([{ topic: link.topic }]);
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
    // The next owner counts from the ledger: what went out must be in it before this member leaves.
    await Promise.all([...this.#ledgerWrites]);
    await this.#commitSoon();
    // Leases end here: a settle after this reports the lease lost.
    for (const lease of this.#leases.values()) lease.lose();
    this.#leases.clear();
    await this.#consumer?.disconnect().catch(this.#onError);
  }

  /** Commits what was settled so far (queueDepth reads the committed offsets right after). */
  async flush(): Promise<void> {
    await this.#commitSoon();
  }

  /**
   * Whether the lease a delivery came under is still this consumer's. A member the group has not
   * heard from for a whole session timeout has been removed by the broker, whatever kafkajs
   * believes while its connections hang: its leases are gone.
   */
  holds(receipt: KafkaReceipt): boolean {
    this.#checkContact();
    return !receipt.lease.lost && this.#leases.get(receipt.partition) === receipt.lease;
  }

  #checkContact(): void {
    if (this.#lastContactAt === 0 || Date.now() - this.#lastContactAt <= this.#link.sessionTimeoutMs) return;
    for (const lease of [...this.#leases.values()]) this.#lose(lease);
  }

  /**
   * A delivery was settled (acked, dead-lettered, or requeued as a copy): its offset no longer
   * holds the commit back, and the next record of its key may go out. The commit follows within
   * commitIntervalMs; the settle does not wait for it, or a worker slot would idle for a commit
   * round trip after every task. False when the lease is already known lost (the partition moved,
   * or the group has not heard from this member for a session timeout).
   */
  settled(receipt: KafkaReceipt): boolean {
    const lease = receipt.lease;
    this.#checkContact();
    if (lease.lost) return false;
    lease.counts.markDone(receipt.offset);
    lease.ledgerDirty = true;
    const next = lease.settle(receipt.offset, receipt.key);
    if (next) {
      this.#reserved += 1;
      void this.#handOut(lease, [next]);
    }
    void this.#commitSoon();
    return true;
  }

  #joined(memberId: string, partitions: number[]): void {
    this.#rebalancing = false;
    this.#lastContactAt = Date.now();
    // What was settled while the group re-formed is committed under the new generation.
    queueMicrotask(() => void this.#commitSoon());
    const assigned = new Set(partitions);
    const sameMember = memberId === this.#memberId;
    this.#memberId = memberId;
    for (const [partition, lease] of this.#leases) {
      if (sameMember && assigned.has(partition)) continue;
      this.#lose(lease);
    }
    this.#ledgerCounts = undefined;
    this.#wake();
  }

  #free(): number {
    return this.#window.free - this.#reserved;
  }

  /** Records fetched and waiting in the leases' backlogs. */
  #backlogSize(): number {
    let n = 0;
    for (const lease of this.#leases.values()) n += lease.backlog.length;
    return n;
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Hands out backlog records while slots are free, a partition at a time in turn. */
  #pump(): void {
    if (this.#stopped || this.#rebalancing) return;
    let free = this.#free();
    while (free > 0) {
      let handed = false;
      for (const lease of this.#leases.values()) {
        if (free <= 0) break;
        if (lease.lost || lease.backlog.length === 0) continue;
        const chunk = lease.backlog.splice(0, free);
        free -= chunk.length;
        this.#reserved += chunk.length;
        handed = true;
        void this.#handOut(lease, chunk);
      }
      if (!handed) return;
    }
  }

  /**
   * Whether the batch may still be handed out. kafkajs's isStale() (a seek is pending) is not asked:
   * it serializes the topic-partition on every call, and the only seeks are kafkajs's own after a
   * join, which the lease and the offsets already taken (nextOffset) cover.
   */
  #live(payload: EachBatchPayload, lease: PartitionLease): boolean {
    return !this.#stopped && !lease.lost && payload.isRunning();
  }

  /**
   * Waits while the backlog holds more than it may (kafkajs then fetches no further), heartbeating
   * meanwhile; false when the batch must be abandoned.
   */
  async #room(payload: EachBatchPayload, lease: PartitionLease): Promise<boolean> {
    let live = this.#live(payload, lease);
    while (live && (this.#backlogSize() >= this.#maxBacklog || this.#rebalancing)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      // kafkajs sends a heartbeat only once per heartbeat interval anyway; calling it after every
      // wake only cost a round of promises.
      const now = Date.now();
      if (now - this.#heartbeatCalledAt >= this.#heartbeatEveryMs) {
        this.#heartbeatCalledAt = now;
        try {
          await payload.heartbeat();
        } catch (error) {
          if (REBALANCING.has((error as { type?: string }).type ?? '')) throw error;
          this.#onError(error);
        }
      }
      live = this.#live(payload, lease);
    }
    return live;
  }

  /**
   * Takes a fetched batch into its partition's backlog and returns, so that kafkajs fetches the
   * next batch while these go out (it fetches again only once every batch of a fetch returned).
   * Records already taken (refetched after a join that kept the partition) or settled by an
   * earlier owner (the ledger's marks) are skipped.
   */
  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const lease = await this.#leaseOf(batch.partition);
    if (!(await this.#room(payload, lease))) return;
    let last: string | undefined;
    for (const record of batch.messages) {
      last = record.offset;
      const offset = Number(record.offset);
      if (offset < lease.nextOffset) continue;
      if (lease.counts.isDone(offset)) {
        lease.nextOffset = offset + 1;
        continue;
      }
      if (lease.take(record, this.#link.keyOrder ? keyOf(record) : undefined)) lease.backlog.push(record);
    }
    if (last !== undefined) payload.resolveOffset(last);
    this.#pump();
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
    const stored = this.#ledger
      .store(lease.partition, () => lease.counts)
      .catch((error: unknown) => {
        // Handed out all the same: a lost count is better than a stalled queue.
        this.#onError(error);
      });
    if (this.#link.countsBeforeHandout) await stored;
    else this.#ledgerWrites.add(stored.finally(() => this.#ledgerWrites.delete(stored)));
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

  /**
   * The next commit: at most one is on its way, and one more waits behind it, spaced by
   * commitIntervalMs; everything settled meanwhile rides on it.
   */
  #commitSoon(): Promise<boolean> {
    this.#nextCommit ??= new Promise<boolean>((resolve) => {
      const run = (): void => {
        this.#nextCommit = undefined;
        void this.#flushCommits().then(resolve);
      };
      const wait = Math.max(0, this.#lastCommitAt + this.#link.commitIntervalMs - Date.now());
      void this.#committing.then(() => {
        if (wait > 0) setTimeout(run, wait);
        else run();
      });
    });
    return this.#nextCommit;
  }

  /**
   * Commits every partition's settled prefix, one commit at a time; unchanged offsets too, so that
   * a member the group forgot (UNKNOWN_MEMBER_ID) learns it: its leases are then lost, and later
   * settles report LeaseLostError. Refusals while the group re-forms are retried after the join.
   */
  #flushCommits(): Promise<boolean> {
    const run = this.#committing.then(async (): Promise<boolean> => {
      const consumer = this.#consumer;
      if (!consumer) return false;
      const leases = [...this.#leases.values()].filter((lease) => lease.nextOffset >= 0);
      if (leases.length === 0) return true;
      this.#lastCommitAt = Date.now();
      const due = leases.map((lease) => ({ lease, offset: lease.commitOffset() }));
      try {
        // Unchanged offsets are committed too: the commit is also the proof of ownership.
        await consumer.commitOffsets(
          due.map(({ lease, offset }) => ({
            topic: this.#link.topic,
            partition: lease.partition,
            offset: String(offset),
          })),
        );
        this.#lastContactAt = Date.now();
        for (const { lease, offset } of due) {
          lease.committed = offset;
          lease.counts.dropBelow(offset);
        }
        // Settled records above a gap are in the ledger too, so that the next owner of the
        // partition skips them instead of running them again.
        await Promise.all(
          due
            .filter(
              ({ lease }) => lease.ledgerDirty && lease.counts.doneBetween(lease.committed, Infinity) > 0,
            )
            .map(({ lease }) => {
              lease.ledgerDirty = false;
              return this.#ledger.store(lease.partition, () => lease.counts).catch(this.#onError);
            }),
        );
        return true;
      } catch (error) {
        const type = (error as { type?: string }).type ?? '';
        if (LEASE_GONE.has(type)) for (const { lease } of due) this.#lose(lease);
        else {
          if (!REBALANCING.has(type)) this.#onError(error);
          // Settled progress must not wait for the next settle to be committed.
          if (!this.#stopped || this.#leases.size > 0) {
            setTimeout(() => void this.#commitSoon(), Math.max(100, this.#link.commitIntervalMs)).unref();
          }
        }
        return false;
      }
    });
    this.#committing = run.then(() => undefined);
    return run;
  }

  #lose(lease: PartitionLease): void {
    if (lease.lost) return;
    lease.lose();
    if (this.#leases.get(lease.partition) === lease) this.#leases.delete(lease.partition);
  }
}

function keyOf(record: KafkaMessage): string | undefined {
  return record.key === null || record.key === undefined ? undefined : record.key.toString('utf8');
}
