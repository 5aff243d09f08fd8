import {
  BatchPublishError,
  BrokerAuthenticationError,
  BrokerConnectionError,
  BrokerError,
  type ConsumeOptions,
  ConveyorError,
  checkHealth,
  checkPrefetch,
  checkPublish,
  type DeliveryHandler,
  type DeliveryPort,
  defineCapabilities,
  describeTlsFailure,
  type HealthStatus,
  HeldDeliveries,
  InvalidOptionError,
  MessageTooLargeError,
  onAbort,
  type PublishEntry,
  type PublishOptions,
  type QueueDepth,
  type QueueSpec,
  type Settlement,
  type Transport,
  type TransportCapabilities,
  TransportClosedError,
  type TransportDelivery,
  UnsupportedFeatureError,
  type WireMessage,
} from '@conveyor/core/transport';
import { type Admin, CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import { bucketFor, bucketTopic } from './delay-buckets.js';
import { acquireDelayForwarder, delayTopics } from './delay-forwarder.js';
import { HandoutCounts } from './handout-counts.js';
import {
  checkTlsHandshake,
  connectWithin,
  createKafkaClient,
  KAFKA_TLS_OPTION_NAMES,
} from './kafka-client.js';
import { KafkaQueueConsumer, type KafkaReceipt } from './kafka-consumer.js';
import {
  deadLetterRecordHeaders,
  encodeRecord,
  KAFKA_MAX_BODY_BYTES,
  KAFKA_MAX_RECORD_BYTES,
  NOT_BEFORE_HEADER,
  recordBytes,
  TARGET_HEADER,
} from './kafka-record.js';
import { type KafkaTransportOptions, type ResolvedKafkaOptions, resolveKafkaOptions } from './options.js';
import { ProduceBatcher } from './produce-batcher.js';
import { RenewingAdmin } from './renewing-admin.js';
import { stablePartitioner } from './stable-partitioner.js';
import { TopicMissingError } from './topic-missing-error.js';
import {
  consumerGroupOf,
  defaultDeadLetterQueue,
  handoutLedgerGroupOf,
  kafkaTopicName,
} from './topic-names.js';
import { isTopicNotReadyYet, TOPIC_READY_TIMEOUT_MS, waitForTopicLeaders } from './topic-readiness.js';

/**
 * Conveyor on Apache Kafka (kafkajs). A queue is a topic and its workers are one consumer group,
 * so any number of workers share a queue; acknowledgements are per message over committed
 * offsets; delays travel through shared delay topics; records are kombu's envelopes, so Python
 * Celery producers feed Conveyor workers.
 */
export class KafkaTransport implements Transport {
  readonly name = 'kafka';
  readonly capabilities: TransportCapabilities;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedKafkaOptions;
  readonly #kafka: Kafka;
  #producer: Producer | undefined;
  /** Reads offsets (queueDepth, the consumers' hand-out ledgers). */
  #admin: RenewingAdmin | undefined;
  /**
   * Creates, lists and looks up topics, and never reads offsets, so that no topic deleted by
   * someone else can fail its metadata requests (see RenewingAdmin): a createTopics would fail
   * with UNKNOWN_TOPIC_OR_PARTITION.
   */
  #topicAdmin: Admin | undefined;
  #batcher: ProduceBatcher | undefined;
  #connecting: Promise<void> | undefined;
  /** Gives back this transport's hold on the process's delay forwarder. */
  #releaseForwarder: (() => Promise<void>) | undefined;
  #closed = false;
  readonly #held = new HeldDeliveries();
  readonly #consumers = new Set<KafkaQueueConsumer>();
  /** Consumers stopped by their signal, by queue, until taken over or retired (see consume). */
  readonly #dormant = new Map<string, KafkaQueueConsumer>();
  readonly #topics = new Map<string, Promise<void>>();
  readonly #deadLetterQueues = new Map<string, string | null>();
  #delayTopics: Promise<void> | undefined;

  /** Opens a transport from a `kafka://` or `kafka+ssl://` URL (see KafkaTransportOptions.url). */
  static fromUrl(url: string): KafkaTransport {
    return new KafkaTransport({ url });
  }

  constructor(options: KafkaTransportOptions | string = {}) {
    this.options = resolveKafkaOptions(typeof options === 'string' ? { url: options } : options);
    this.capabilities = defineCapabilities({
      // Measured lateness is tens of ms (the forwarder's 100 ms fetch wait); the claim leaves room
      // for a rebalance of the forwarder group, which pauses forwarding while members join or a
      // dead one times out.
      delay: { mode: 'emulated', maxDelayMs: null, precisionMs: 2000 },
      priorityLevels: 0,
      ordering: 'key',
      deadLetter: true,
      maxMessageBytes: KAFKA_MAX_BODY_BYTES,
      batchPublish: true,
      visibilityExtension: false,
      deduplication: false,
      redelivery: { trigger: 'rebalance', visibilityTimeoutMs: null },
    });
    this.#kafka = createKafkaClient(this.options);
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportClosedError('connect', { transport: this.name }));
    this.#connecting ??= this.#open().catch((error: unknown) => {
      this.#connecting = undefined;
      throw this.#mapError(error, 'connect');
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    await checkTlsHandshake(this.options);
    const producer = this.#newProducer();
    const admin = new RenewingAdmin(this.#kafka);
    const topicAdmin = this.#kafka.admin();
    await connectWithin(this.#kafka, this.options, [producer, admin, topicAdmin]);
    this.#producer = producer;
    this.#admin = admin;
    this.#topicAdmin = topicAdmin;
    this.#batcher = new ProduceBatcher(
      producer,
      this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      (stale) => this.#renewProducer(stale),
    );
  }

  #newProducer(): Producer {
    return this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: stablePartitioner,
    });
  }

  /** A fresh producer in place of one that a deleted topic broke (see ProduceBatcher). */
  async #renewProducer(stale: Producer): Promise<Producer> {
    const fresh = this.#newProducer();
    await connectWithin(this.#kafka, this.options, [fresh]);
    this.#producer = fresh;
    await stale.disconnect().catch(() => {});
    return fresh;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    this.#dormant.clear();
    for (const consumer of consumers) consumer.stop();
    // Unsettled deliveries become closed; their records stay uncommitted, so the next owner of the
    // partition gets them (the ledger says they were handed out once more).
    this.#held.closeAll<TransportDelivery<KafkaReceipt>>();
    await Promise.allSettled(consumers.map((consumer) => consumer.close()));
    await this.#releaseForwarder?.();
    await this.#batcher?.idle().catch(() => {});
    await Promise.allSettled([
      this.#producer?.disconnect(),
      this.#admin?.disconnect(),
      this.#topicAdmin?.disconnect(),
    ]);
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.#assertOpen('declareQueue');
    if (typeof spec?.name !== 'string' || spec.name === '')
      throw new InvalidOptionError('name', 'must be a non-empty string');
    if (spec.priorityLevels !== undefined && spec.priorityLevels > 1)
      throw new UnsupportedFeatureError('priority', `priorityLevels ${spec.priorityLevels} was declared`, {
        transport: this.name,
      });
    const topic = kafkaTopicName(spec.name);
    const deadLetterQueue =
      spec.deadLetterQueue === undefined ? defaultDeadLetterQueue(spec.name) : spec.deadLetterQueue;
    const topics = [topic];
    if (deadLetterQueue !== null) topics.push(kafkaTopicName(deadLetterQueue));
    await this.connect();
    await Promise.all(topics.map((t) => this.#ensureTopic(t)));
    this.#deadLetterQueues.set(spec.name, deadLetterQueue);
  }

  /** The Kafka topic of a queue (kombu's naming: `@` removed). */
  topicOf(queue: string): string {
    return kafkaTopicName(queue);
  }

  async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    this.#assertOpen('publish');
    checkPublish(this.name, this.capabilities, message, options);
    const topic = kafkaTopicName(queue);
    const record = this.#record(queue, message, options);
    await this.connect();
    await this.#ensureTopic(topic);
    await this.#send(queue, topic, [record], options?.delayMs ?? 0);
  }

  async publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    this.#assertOpen('publish');
    for (const e of entries) checkPublish(this.name, this.capabilities, e.message, e.options);
    if (entries.length === 0) return;
    const topic = kafkaTopicName(queue);
    const records = entries.map((e) => this.#record(queue, e.message, e.options));
    await this.connect();
    await this.#ensureTopic(topic);
    const now: Message[] = [];
    const nowIndexes: number[] = [];
    const later: { index: number; record: Message; delayMs: number }[] = [];
    entries.forEach((e, index) => {
      const delayMs = e.options?.delayMs ?? 0;
      if (delayMs > 0) later.push({ index, record: records[index]!, delayMs });
      else {
        now.push(records[index]!);
        nowIndexes.push(index);
      }
    });
    const failed: { index: number; error: unknown }[] = [];
    await Promise.all([
      now.length === 0
        ? undefined
        : this.#send(queue, topic, now, 0).catch((error: unknown) => {
            for (const index of nowIndexes) failed.push({ index, error });
          }),
      ...later.map(({ index, record, delayMs }) =>
        this.#send(queue, topic, [record], delayMs).catch((error: unknown) => {
          failed.push({ index, error });
        }),
      ),
    ]);
    if (failed.length > 0) {
      failed.sort((a, b) => a.index - b.index);
      throw new BatchPublishError(failed, entries.length, { transport: this.name });
    }
  }

  /** Encodes one message and refuses it, before sending, when the broker would. */
  #record(queue: string, message: WireMessage, options: PublishOptions | undefined): Message {
    const record = encodeRecord(queue, message, options?.orderingKey);
    const bytes = recordBytes(record);
    if (bytes > KAFKA_MAX_RECORD_BYTES)
      throw new MessageTooLargeError(bytes, KAFKA_MAX_RECORD_BYTES, { transport: this.name });
    return record;
  }

  /** Produces records to `topic`, or to the delay topic that holds them first. */
  async #send(queue: string, topic: string, records: Message[], delayMs: number): Promise<void> {
    try {
      if (delayMs <= 0) {
        await this.#batcher!.send(topic, records);
        return;
      }
      await this.#ensureDelayTopics();
      const notBefore = String(Math.ceil(Date.now() + delayMs));
      const delayed = records.map((r) => ({
        ...r,
        headers: { ...r.headers, [NOT_BEFORE_HEADER]: notBefore, [TARGET_HEADER]: topic },
      }));
      await this.#batcher!.send(bucketTopic(this.options.delayTopicPrefix, bucketFor(delayMs)), delayed);
    } catch (error) {
      throw this.#mapError(error, `publish to "${queue}"`);
    }
  }

  /**
   * Consumes a queue as a member of its consumer group. A consumer stopped by its signal stays a
   * member for a while (its deliveries must stay settleable, and a commit needs membership): a
   * later consume of the same queue with the same prefetch takes it over instead of joining as a
   * new member, which would cost a rebalance, and would leave the stopped member holding its
   * partitions (the Worker pauses and resumes consumption around each redelivered message). A
   * stopped consumer nobody takes over leaves the group once it holds nothing for a session
   * timeout.
   */
  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    this.#assertOpen('consume');
    checkPrefetch(this.name, options?.prefetch);
    const topic = kafkaTopicName(queue);
    const onError = options.onError ?? (() => {});
    const dormant = this.#dormant.get(queue);
    if (dormant && dormant.prefetch === options.prefetch && !options.signal?.aborted) {
      this.#dormant.delete(queue);
      dormant.revive(handler, onError);
      onAbort(options.signal, () => this.#putToSleep(queue, dormant));
      return;
    }
    await this.connect();
    await this.#ensureTopic(topic);
    if (options.signal?.aborted) return;
    const consumer = new KafkaQueueConsumer(
      {
        queue,
        topic,
        groupId: consumerGroupOf(topic),
        kafka: this.#kafka,
        admin: this.#admin!,
        held: this.#held,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        commitIntervalMs: this.options.commitIntervalMs,
        keyOrder: true,
        countsBeforeHandout: this.options.deliveryCounts === 'before-handout',
        port: (owner) => this.#portOf(queue, topic, owner),
      },
      handler,
      options.prefetch,
      onError,
    );
    this.#consumers.add(consumer);
    onAbort(options.signal, () => this.#putToSleep(queue, consumer));
    if (this.options.delayForwarder && !this.#releaseForwarder) {
      await this.#ensureDelayTopics();
      this.#releaseForwarder = acquireDelayForwarder(this.options, onError);
    }
    try {
      await consumer.start();
    } catch (error) {
      this.#consumers.delete(consumer);
      if (this.#dormant.get(queue) === consumer) this.#dormant.delete(queue);
      await consumer.close();
      throw this.#mapError(error, `consume "${queue}"`);
    }
    if (this.#closed) consumer.stop();
  }

  /** A consumer's signal aborted: it stops handing out and waits to be taken over or retired. */
  #putToSleep(queue: string, consumer: KafkaQueueConsumer): void {
    consumer.stop();
    if (this.#closed) return;
    const previous = this.#dormant.get(queue);
    this.#dormant.set(queue, consumer);
    if (previous && previous !== consumer) void this.#retire(queue, previous);
    let idleSince = consumer.held === 0 ? Date.now() : 0;
    const check = setInterval(() => {
      if (this.#dormant.get(queue) !== consumer || this.#closed) {
        clearInterval(check);
        return;
      }
      if (consumer.held > 0) idleSince = 0;
      else if (idleSince === 0) idleSince = Date.now();
      else if (Date.now() - idleSince >= this.options.sessionTimeoutMs) {
        clearInterval(check);
        void this.#retire(queue, consumer);
      }
    }, 1000);
    check.unref();
  }

  /** A stopped consumer leaves the group: its partitions go to the other members. */
  async #retire(queue: string, consumer: KafkaQueueConsumer): Promise<void> {
    if (this.#dormant.get(queue) === consumer) this.#dormant.delete(queue);
    this.#consumers.delete(consumer);
    await consumer.close();
  }

  #portOf(queue: string, topic: string, consumer: KafkaQueueConsumer): DeliveryPort<KafkaReceipt> {
    return {
      transportName: this.name,
      capabilities: this.capabilities,
      leaseLostReason: 'its partition moved to another member of the consumer group',
      holds: (receipt) => consumer.holds(receipt),
      settle: async (receipt, settlement, message) => {
        if (!consumer.holds(receipt)) return false;
        if (settlement.kind === 'requeue') await this.#requeue(queue, topic, receipt, settlement, message);
        return consumer.settled(receipt);
      },
      deadLetterQueueOf: (name) => this.#deadLetterQueueOf(name),
      publishDeadLetter: async (deadLetterQueue, letter) => {
        const dlqTopic = kafkaTopicName(deadLetterQueue);
        await this.#ensureTopic(dlqTopic);
        const record = encodeRecord(deadLetterQueue, letter, undefined, deadLetterRecordHeaders(letter));
        await this.#send(deadLetterQueue, dlqTopic, [record], 0);
      },
    };
  }

  /**
   * A requeue is a copy at the tail of the topic (with its delivery count so far in the message),
   * or in a delay topic; the original is then settled like an ack. The copy loses its place in
   * its key's order.
   */
  async #requeue(
    queue: string,
    topic: string,
    receipt: KafkaReceipt,
    settlement: Extract<Settlement, { kind: 'requeue' }>,
    message: WireMessage | null,
  ): Promise<void> {
    const record: Message = message
      ? encodeRecord(queue, message, receipt.key)
      : { key: receipt.key ?? null, value: receipt.value };
    await this.#send(queue, topic, [record], settlement.delayMs);
  }

  #deadLetterQueueOf(queue: string): string | null {
    const declared = this.#deadLetterQueues.get(queue);
    return declared === undefined ? defaultDeadLetterQueue(queue) : declared;
  }

  /**
   * `ready` is the group's lag (records written and not yet committed by the queue's consumer
   * group) less `inFlight`, the offsets above the committed one that the hand-out ledger says went
   * out to some worker, wherever it runs. Delayed records sit in the shared delay topics and are
   * not counted per queue (`delayed` is undefined).
   */
  async queueDepth(queue: string): Promise<QueueDepth> {
    this.#assertOpen('queueDepth');
    const topic = kafkaTopicName(queue);
    await this.connect();
    // What this process settled is committed first, so that it reads its own acks.
    await Promise.all([...this.#consumers].filter((c) => c.queue === queue).map((c) => c.flush()));
    try {
      const admin = this.#admin!;
      // A queue nobody declared yet (a Python producer makes no .dlq, say) holds nothing.
      if (!(await this.#topicAdmin!.listTopics()).includes(topic))
        return { ready: 0, inFlight: 0, delayed: undefined };
      const [ends, committed, ledger] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: consumerGroupOf(topic), topics: [topic] }),
        admin.fetchOffsets({ groupId: handoutLedgerGroupOf(topic), topics: [topic] }),
      ]);
      const done = new Map<number, number>();
      for (const p of committed[0]?.partitions ?? []) done.set(p.partition, Number(p.offset));
      const handouts = new Map<number, HandoutCounts>();
      for (const p of ledger[0]?.partitions ?? []) handouts.set(p.partition, HandoutCounts.parse(p.metadata));
      let ready = 0;
      let inFlight = 0;
      for (const p of ends) {
        const high = Number(p.high);
        const committedAt = done.get(p.partition) ?? -1;
        const from = committedAt >= 0 ? committedAt : Number(p.low);
        const out = handouts.get(p.partition)?.handedOutBetween(from, high) ?? 0;
        inFlight += out;
        ready += Math.max(0, high - from - out);
      }
      return { ready, inFlight, delayed: undefined };
    } catch (error) {
      throw this.#mapError(error, `queueDepth of "${queue}"`);
    }
  }

  health(): Promise<HealthStatus> {
    return checkHealth(this.#closed, async () => {
      await this.connect();
      await this.#topicAdmin!.describeCluster();
    });
  }

  /**
   * Creates the topic when missing (createTopics) and waits until it has a leader for every
   * partition, or checks that it exists.
   */
  #ensureTopic(topic: string): Promise<void> {
    let ensured = this.#topics.get(topic);
    if (!ensured) {
      ensured = this.#createOrCheck([topic]);
      this.#topics.set(topic, ensured);
      ensured.catch(() => this.#topics.delete(topic));
    }
    return ensured;
  }

  #ensureDelayTopics(): Promise<void> {
    this.#delayTopics ??= this.#createOrCheck(delayTopics(this.options.delayTopicPrefix)).catch(
      (error: unknown) => {
        this.#delayTopics = undefined;
        throw error;
      },
    );
    return this.#delayTopics;
  }

  async #createOrCheck(topics: string[]): Promise<void> {
    const admin = this.#topicAdmin!;
    if (this.options.createTopics) {
      const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
      try {
        await this.#createTopics(admin, topics, deadline);
        // Also when they existed already: another client may have created them a moment ago.
        // kafkajs's waitForLeaders is not enough (see isTopicNotReadyYet).
        await waitForTopicLeaders(admin, topics, deadline);
      } catch (error) {
        throw this.#mapError(error, `create topics ${topics.join(', ')}`);
      }
      return;
    }
    try {
      await admin.fetchTopicMetadata({ topics });
    } catch (error) {
      if ((error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION')
        throw new TopicMissingError(topics, { transport: this.name });
      throw this.#mapError(error, `look up topics ${topics.join(', ')}`);
    }
  }

  /**
   * createTopics, tried again (until the deadline) while the broker answers that a topic is
   * unknown or leaderless: that answer comes from the metadata requests around the creation, not
   * from the creation itself, which a later try finds done (TOPIC_ALREADY_EXISTS).
   */
  async #createTopics(admin: Admin, topics: string[], deadline: number): Promise<void> {
    for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 1000)) {
      try {
        await admin.createTopics({
          // Waited for by waitForTopicLeaders, which also waits out UNKNOWN_TOPIC_OR_PARTITION.
          waitForLeaders: false,
          topics: topics.map((topic) => ({
            topic,
            numPartitions: this.options.partitions,
            replicationFactor: this.options.replicationFactor,
          })),
        });
        return;
      } catch (error) {
        // Some existed already: kafkajs then fails the whole call. Each one that exists is fine.
        if (isTopicExists(error)) return;
        if (!isTopicNotReadyYet(error) || Date.now() + pauseMs > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new TransportClosedError(what, { transport: this.name });
  }

  #mapError(error: unknown, what: string): Error {
    if (error instanceof ConveyorError) return error;
    const e = error as { name?: string; type?: string; message?: string; retriable?: boolean };
    const detail = `${what}: ${e.message ?? String(error)}`;
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      // kafkajs's message names the mechanism, never the password.
      const user = (this.options.sasl as { username?: string } | undefined)?.username;
      return new BrokerAuthenticationError(
        `${what}: Kafka refused the SASL credentials${user === undefined ? '' : ` of user "${user}"`}: ${e.message}`,
        { transport: this.name, cause: error },
      );
    }
    const tls = describeTlsFailure(error, KAFKA_TLS_OPTION_NAMES);
    if (tls)
      return new BrokerConnectionError(`${what}: ${tls}`, {
        transport: this.name,
        cause: error,
        retryable: false,
      });
    if (
      e.name === 'KafkaJSConnectionError' ||
      e.name === 'KafkaJSNumberOfRetriesExceeded' ||
      e.name === 'KafkaJSNonRetriableError' ||
      e.name === 'KafkaJSRequestTimeoutError' ||
      e.name === 'KafkaJSBrokerNotFound'
    )
      return new BrokerConnectionError(detail, { transport: this.name, cause: error });
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE')
      return new BrokerError(`${detail} (the broker's message.max.bytes is lower than Kafka's default)`, {
        transport: this.name,
        cause: error,
      });
    return new BrokerError(detail, { transport: this.name, cause: error, retryable: e.retriable === true });
  }
}

function isTopicExists(error: unknown): boolean {
  const e = error as { type?: string; errors?: { type?: string }[] };
  if (e.type === 'TOPIC_ALREADY_EXISTS') return true;
  return (
    Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS')
  );
}
