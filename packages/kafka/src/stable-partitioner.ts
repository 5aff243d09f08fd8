import { type ICustomPartitioner, type Message, Partitioners } from 'kafkajs';

/**
 * kafkajs's default partitioner, except that a record without key keeps the partition it was
 * first given. kafkajs retries a failed produce request by partitioning the same records again;
 * round-robin then deals keyless records out differently, while the idempotent producer reuses the
 * partition's sequence numbers. When the lost request had in fact been stored (the connection or
 * the broker went down before the answer), the broker takes the retry's batch for a duplicate of
 * the stored one, answers success and drops it: other records than those stored, acknowledged and
 * lost. Found by the chaos runner (apps/chaos) with a Kafka restart; keeping each record on its
 * first partition makes a retry the same batch again, which the broker rightly deduplicates.
 */
export const stablePartitioner: ICustomPartitioner = () => {
  const base = Partitioners.DefaultPartitioner();
  // Keyed by the record object, which kafkajs passes again on each retry of a sendBatch.
  const chosen = new WeakMap<Message, number>();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition != null || message.key != null) return base(args);
    const earlier = chosen.get(message);
    if (earlier !== undefined && earlier < partitionMetadata.length) return earlier;
    const partition = base(args);
    chosen.set(message, partition);
    return partition;
  };
};
