/**
 * @conveyor/kafka: the Apache Kafka transport for Conveyor (kafkajs): per-message acks over
 * committed offsets, many workers per queue, delays through delay topics, dead-letter topics,
 * kombu/Celery-compatible records.
 */
import type { Transport } from '@conveyor/core';
import { KafkaTransport } from './kafka-transport.js';

export { bucketFor, bucketTopic, DELAY_BUCKET_SECONDS } from './delay-buckets.js';
export { HandoutCounts } from './handout-counts.js';
export {
  KAFKA_MAX_BODY_BYTES,
  KAFKA_MAX_RECORD_BYTES,
  NOT_BEFORE_HEADER,
  TARGET_HEADER,
} from './kafka-record.js';
export { KafkaTransport } from './kafka-transport.js';
export {
  type KafkaCompression,
  type KafkaDeliveryCounts,
  type KafkaSaslMechanism,
  type KafkaTransportOptions,
  parseKafkaUrl,
  type ResolvedKafkaOptions,
} from './options.js';
export { TopicMissingError } from './topic-missing-error.js';
export {
  consumerGroupOf,
  handoutLedgerGroupOf,
  kafkaTopicName,
  MAX_TOPIC_NAME_LENGTH,
} from './topic-names.js';

/** Opens a KafkaTransport from a `kafka://` or `kafka+ssl://` URL. */
export function createTransportFromUrl(url: string): Transport {
  return new KafkaTransport({ url });
}
