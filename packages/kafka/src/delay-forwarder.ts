import {
  type Admin,
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type Kafka,
  type Message,
  type Producer,
} from 'kafkajs';
import { bucketFor, bucketSecondsOf, bucketTopic, DELAY_BUCKET_SECONDS, releaseAt } from './delay-buckets.js';
import { createKafkaClient } from './kafka-client.js';
import { headerText, NOT_BEFORE_HEADER, TARGET_HEADER } from './kafka-record.js';
import type { ResolvedKafkaOptions } from './options.js';
import { ProduceBatcher } from './produce-batcher.js';

/** The delay topics of a prefix, shortest hold first. */
export function delayTopics(prefix: string): string[] {
  return DELAY_BUCKET_SECONDS.map((seconds) => bucketTopic(prefix, seconds));
}

/** One forwarder per cluster and prefix in a process, shared by its transports. */
const running = new Map<string, { forwarder: DelayForwarder; users: number }>();

/**
 * Starts this process's delay forwarder for the options' cluster and prefix, or joins the running
 * one, and returns the function that gives the hold back (the last one stops it). One member per
 * process keeps the forwarder group from rebalancing every time a transport opens or closes.
 */
export function acquireDelayForwarder(
  options: ResolvedKafkaOptions,
  onError: (error: unknown) => void,
): () => Promise<void> {
  const key = `${[...options.brokers].sort().join(',')}|${options.delayTopicPrefix}`;
  let entry = running.get(key);
  if (!entry) {
    const forwarder = new DelayForwarder(options, onError);
    entry = { forwarder, users: 0 };
    running.set(key, entry);
    // Not awaited: joining the group takes a rebalance, and consumers need not wait for it.
    forwarder.start().catch(onError);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    held.users -= 1;
    if (held.users > 0) return;
    if (running.get(key) === held) running.delete(key);
    await held.forwarder.stop();
  };
}

/**
 * Moves delayed records on when they fall due, without holding any in memory: a consumer group
 * (`<prefix>.forwarder`, shared by every Conveyor consumer on the cluster) reads the delay topics;
 * when the head of a partition is not due yet, that partition is paused until it is, and the
 * fetch is dropped. A due record goes to its queue's topic, or to a smaller delay topic when its
 * delay was longer than one hold. Offsets are committed after the forward: a crash in between
 * forwards twice, never loses.
 */
export class DelayForwarder {
  readonly #options: ResolvedKafkaOptions;
  readonly #onError: (error: unknown) => void;
  readonly #prefix: string;
  #consumer: Consumer | undefined;
  #producer: Producer | undefined;
  #admin: Admin | undefined;
  #kafka: Kafka | undefined;
  /** Target topics known to exist, with when they were last looked up. */
  readonly #seen = new Map<string, number>();
  #batcher: ProduceBatcher | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #stopped = false;
  #started: Promise<void> | undefined;

  constructor(options: ResolvedKafkaOptions, onError: (error: unknown) => void) {
    this.#options = options;
    this.#onError = onError;
    this.#prefix = options.delayTopicPrefix;
  }

  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const kafka = createKafkaClient(options);
    this.#kafka = kafka;
    this.#admin = kafka.admin();
    await this.#admin.connect();
    await this.#renewProducer();
    if (this.#stopped) return;
    const consumer = kafka.consumer({
      groupId: `${this.#prefix}.forwarder`,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(options.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 100,
      rebalanceTimeout: options.sessionTimeoutMs,
      allowAutoTopicCreation: false,
      retry: { restartOnFailure: async () => !this.#stopped },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => this.#onError(payload.error));
    await consumer.connect();
    await consumer.subscribe({ topics: delayTopics(this.#prefix), fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 200,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: DELAY_BUCKET_SECONDS.length,
      eachBatch: (payload) => this.#forward(payload),
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#started?.catch(() => {});
    await this.#consumer?.disconnect().catch(this.#onError);
    await this.#batcher?.idle().catch(() => {});
    await this.#producer?.disconnect().catch(this.#onError);
    await this.#admin?.disconnect().catch(this.#onError);
  }

  /**
   * Sends the due records. A record whose queue's topic was deleted meanwhile would fail its
   * partition's forwarding forever (every retry meets it first): it is dropped and reported. The
   * topic is looked up before the send, because a kafkajs producer that once sent to a topic
   * deleted later fails every metadata refresh after that; a failed send renews the producer.
   */
  async #send(from: string, outgoing: Map<string, Message[]>): Promise<void> {
    for (const topic of await this.#missing([...outgoing.keys()])) {
      this.#onError(
        new Error(
          `delay topic ${from}: ${outgoing.get(topic)!.length} delayed record(s) for topic "${topic}", which no longer exists, dropped`,
        ),
      );
      outgoing.delete(topic);
    }
    try {
      await Promise.all([...outgoing].map(([topic, messages]) => this.#batcher!.send(topic, messages)));
    } catch (error) {
      this.#seen.clear();
      await this.#renewProducer();
      throw error;
    }
  }

  /** The topics among these that do not exist (each looked up at most every 10 s). */
  async #missing(topics: string[]): Promise<string[]> {
    const now = Date.now();
    const missing: string[] = [];
    for (const topic of topics) {
      if ((this.#seen.get(topic) ?? 0) > now - 10_000) continue;
      try {
        await this.#admin!.fetchTopicMetadata({ topics: [topic] });
        this.#seen.set(topic, now);
      } catch (error) {
        if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        missing.push(topic);
      }
    }
    return missing;
  }

  async #renewProducer(): Promise<void> {
    const old = this.#producer;
    const producer = this.#kafka!.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    this.#producer = producer;
    this.#batcher = new ProduceBatcher(producer, this.#compression());
    await old?.disconnect().catch(() => {});
  }

  #compression(): CompressionTypes {
    return this.#options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  async #forward(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const prefix = this.#prefix;
    const seconds = bucketSecondsOf(prefix, batch.topic);
    if (seconds === undefined) return;
    const outgoing = new Map<string, Message[]>();
    let lastDue: string | undefined;
    let waitUntil: number | undefined;
    for (const record of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || this.#stopped) break;
      const target = headerText(record.headers, TARGET_HEADER);
      const notBefore = Number(headerText(record.headers, NOT_BEFORE_HEADER));
      if (!target || !Number.isFinite(notBefore)) {
        // Not written by Conveyor: nothing to forward it to. Skipped, and said.
        this.#onError(
          new Error(
            `delay topic ${batch.topic} offset ${record.offset} has no ${TARGET_HEADER}/${NOT_BEFORE_HEADER}; skipped`,
          ),
        );
        lastDue = record.offset;
        continue;
      }
      const now = Date.now();
      const due = releaseAt(Number(record.timestamp), seconds, notBefore);
      if (due > now) {
        waitUntil = due;
        break;
      }
      const remaining = notBefore - now;
      const headers: IHeaders = { ...record.headers };
      let topic = target;
      if (remaining > 0) {
        topic = bucketTopic(prefix, bucketFor(remaining));
      } else {
        delete headers[NOT_BEFORE_HEADER];
        delete headers[TARGET_HEADER];
      }
      const message: Message = { key: record.key, value: record.value };
      if (Object.keys(headers).length > 0) message.headers = headers;
      const list = outgoing.get(topic);
      if (list) list.push(message);
      else outgoing.set(topic, [message]);
      lastDue = record.offset;
    }
    if (outgoing.size > 0) await this.#send(batch.topic, outgoing);
    if (lastDue !== undefined) payload.resolveOffset(lastDue);
    if (waitUntil !== undefined && !this.#stopped) {
      const resume = payload.pause();
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resume();
      }, waitUntil - Date.now());
      this.#timers.add(timer);
    }
  }
}
