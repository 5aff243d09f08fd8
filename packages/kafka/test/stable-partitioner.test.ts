import { type Message, Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { stablePartitioner } from '../src/stable-partitioner.js';

const partitionMetadata: PartitionMetadata[] = Array.from({ length: 6 }, (_, partitionId) => ({
  partitionId,
  leader: 1,
  partitionErrorCode: 0,
  replicas: [1],
  isr: [1],
}));
const topic = 'stable-partitioner';

// Issue 13 §1: the chaos runner lost acknowledged records on a Kafka restart because a retried
// produce request dealt keyless records out round-robin again (see stable-partitioner.ts).
describe('stablePartitioner', () => {
  it('gives a keyless record the same partition every time it is partitioned again (a retry)', () => {
    const partition = stablePartitioner();
    const records: Message[] = Array.from({ length: 12 }, (_, i) => ({ value: `r${i}`, key: null }));
    const first = records.map((message) => partition({ topic, partitionMetadata, message }));
    // Other records in between move the round-robin counter, as other sends would.
    partition({ topic, partitionMetadata, message: { value: 'other' } });
    const again = records.map((message) => partition({ topic, partitionMetadata, message }));
    expect(again).toEqual(first);
    // Still spread over the partitions, as round-robin does.
    expect(new Set(first).size).toBe(6);
  });

  it('places keyed records and explicit partitions as kafkajs does', () => {
    const partition = stablePartitioner();
    const reference = Partitioners.DefaultPartitioner();
    for (const key of ['a', 'order-17', 'ü']) {
      const message = { value: 'v', key };
      expect(partition({ topic, partitionMetadata, message })).toBe(
        reference({ topic, partitionMetadata, message }),
      );
    }
    expect(partition({ topic, partitionMetadata, message: { value: 'v', partition: 4 } })).toBe(4);
  });
});
