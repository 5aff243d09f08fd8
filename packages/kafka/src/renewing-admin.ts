import type { Admin, Kafka } from 'kafkajs';
import { kafkaErrorType } from './kafka-error-type.js';

/** The admin calls that read committed and written offsets of a topic. */
export type OffsetReader = Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>;

/**
 * A kafkajs admin for reading offsets that survives the deletion of a topic it read. kafkajs adds
 * the topic of every fetchOffsets/fetchTopicOffsets to the admin's metadata targets for good, and
 * once one of them is deleted by anyone else (a test's clean-up, an operator) every later metadata
 * refresh of that admin fails with UNKNOWN_TOPIC_OR_PARTITION, whatever topic is asked about. On
 * that answer a fresh admin takes over and the call is tried once more on it: a topic that is
 * really missing fails the second time too.
 */
export class RenewingAdmin implements OffsetReader {
  readonly #kafka: Kafka;
  #current: Admin;
  #renewing: Promise<Admin> | undefined;
  #closed = false;

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
    this.#current = kafka.admin();
  }

  connect(): Promise<void> {
    return this.#current.connect();
  }

  async disconnect(): Promise<void> {
    this.#closed = true;
    await this.#renewing?.catch(() => {});
    await this.#current.disconnect();
  }

  fetchOffsets: Admin['fetchOffsets'] = (request) =>
    this.#renewingOnce((admin) => admin.fetchOffsets(request));

  fetchTopicOffsets: Admin['fetchTopicOffsets'] = (topic) =>
    this.#renewingOnce((admin) => admin.fetchTopicOffsets(topic));

  async #renewingOnce<T>(call: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.#current;
    try {
      return await call(admin);
    } catch (error) {
      if (kafkaErrorType(error) !== 'UNKNOWN_TOPIC_OR_PARTITION' || this.#closed) throw error;
      return call(await this.#renew(admin));
    }
  }

  /** Replaces `stale` with a connected fresh admin (once, however many calls failed on it). */
  #renew(stale: Admin): Promise<Admin> {
    if (this.#current !== stale) return Promise.resolve(this.#current);
    this.#renewing ??= (async () => {
      const fresh = this.#kafka.admin();
      try {
        await fresh.connect();
      } catch (error) {
        await fresh.disconnect().catch(() => {});
        throw error;
      }
      this.#current = fresh;
      // Calls still running on the stale admin fail on its metadata as well, and come here.
      await stale.disconnect().catch(() => {});
      if (this.#closed) await fresh.disconnect().catch(() => {});
      return fresh;
    })().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }
}
