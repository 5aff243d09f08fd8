import type { Consumer, EachBatchPayload, IHeaders, Kafka, Message } from 'kafkajs';
import { bucketFor, bucketSecondsOf, bucketTopic, DELAY_BUCKET_SECONDS, releaseAt } from './delay-buckets.js';
import { headerText, NOT_BEFORE_HEADER, TARGET_HEADER } from './kafka-record.js';
import type { ProduceBatcher } from './produce-batcher.js';

/** What the forwarder needs of its transport. */
export interface DelayForwarderLink {
  readonly kafka: Kafka;
  readonly batcher: ProduceBatcher;
  readonly prefix: string;
  readonly sessionTimeoutMs: number;
  readonly onError: (error: unknown) => void;
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
  readonly #link: DelayForwarderLink;
  #consumer: Consumer | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #stopped = false;

  constructor(link: DelayForwarderLink) {
    this.#link = link;
  }

  /** The delay topics, longest hold last. */
  static topics(prefix: string): string[] {
    return DELAY_BUCKET_SECONDS.map((seconds) => bucketTopic(prefix, seconds));
  }

  async start(): Promise<void> {
    const link = this.#link;
    const consumer = link.kafka.consumer({
      groupId: `${link.prefix}.forwarder`,
      sessionTimeout: link.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(link.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: { restartOnFailure: async () => !this.#stopped },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => link.onError(payload.error));
    await consumer.connect();
    await consumer.subscribe({ topics: DelayForwarder.topics(link.prefix), fromBeginning: true });
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
    await this.#consumer?.disconnect().catch(this.#link.onError);
  }

  async #forward(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const prefix = this.#link.prefix;
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
        this.#link.onError(
          new Error(`delay topic ${batch.topic} offset ${record.offset} has no ${TARGET_HEADER}/${NOT_BEFORE_HEADER}; skipped`),
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
    if (outgoing.size > 0) {
      await Promise.all([...outgoing].map(([topic, messages]) => this.#link.batcher.send(topic, messages)));
    }
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
