import type { CompressionTypes, Message, Producer, TopicMessages } from 'kafkajs';
import { kafkaErrorType } from './kafka-error-type.js';
import { recordBytes } from './kafka-record.js';

/** Records per request stay under this many bytes (the broker's default limit is 1 MiB). */
const MAX_REQUEST_BYTES = 900 * 1024;

interface Pending {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Sends what many callers produce in one request. The idempotent producer allows one request in
 * flight, so separate sends would queue one round trip each: instead, everything produced while a
 * request is on its way goes out together in the next one (no linger timer, so a lone publish is
 * not delayed). A failed request fails every caller it carried; none is dropped.
 */
export class ProduceBatcher {
  #producer: Producer;
  readonly #compression: CompressionTypes;
  readonly #renew: ((stale: Producer) => Promise<Producer>) | undefined;
  #queue: Pending[] = [];
  #sending: Promise<void> | undefined;

  /**
   * `renew` gives a connected fresh producer in place of `stale`: kafkajs asks for every topic a
   * producer ever sent to in each metadata refresh, so once one of them is deleted by anyone else
   * every send of that producer fails with UNKNOWN_TOPIC_OR_PARTITION, whatever its topic. A send
   * that fails so is tried once more on a renewed producer (a topic really missing fails again).
   */
  constructor(
    producer: Producer,
    compression: CompressionTypes,
    renew?: (stale: Producer) => Promise<Producer>,
  ) {
    this.#producer = producer;
    this.#compression = compression;
    this.#renew = renew;
  }

  /** Resolves once the broker stored the records (acks = all). */
  send(topic: string, messages: Message[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let bytes = 0;
      for (const message of messages) bytes += recordBytes(message);
      this.#queue.push({ topic, messages, bytes, resolve, reject });
      if (!this.#sending) this.#sending = this.#drain();
    });
  }

  /** Resolves when nothing is queued or on its way. */
  async idle(): Promise<void> {
    while (this.#sending) await this.#sending;
  }

  async #drain(): Promise<void> {
    // Let the callers of this turn of the event loop join the first request.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      // A partition's record batch must stay under the broker's message.max.bytes (1 MiB by default).
      let bytes = 0;
      let take = 0;
      while (take < this.#queue.length) {
        bytes += this.#queue[take]!.bytes;
        if (take > 0 && bytes > MAX_REQUEST_BYTES) break;
        take += 1;
      }
      const batch = this.#queue.splice(0, take);
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic);
        if (list) list.push(...p.messages);
        else byTopic.set(p.topic, [...p.messages]);
      }
      try {
        await this.#sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#sending = undefined;
  }

  async #sendBatch(topicMessages: TopicMessages[]): Promise<void> {
    const producer = this.#producer;
    const request = { acks: -1, compression: this.#compression, topicMessages };
    try {
      await producer.sendBatch(request);
    } catch (error) {
      if (!this.#renew || kafkaErrorType(error) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      this.#producer = await this.#renew(producer);
      await this.#producer.sendBatch(request);
    }
  }
}
