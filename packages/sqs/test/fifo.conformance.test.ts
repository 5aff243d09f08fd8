import { ALL_CASES } from '@conveyor/conformance';
import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { elasticMqHarness } from './sqs-harness.js';

/**
 * EXT-01 publishes four messages without an ordering key and expects one of them to be redelivered
 * after its 1 s timeout while another is held, extended, for 8 s. On a FIFO queue the four share
 * kombu's default group, and SQS hands out nothing of a group while an earlier message of it is in
 * flight: the redelivery waits for the extended one by design. extendVisibility on FIFO is proven
 * by fifo.test.ts instead.
 */
const NOT_ON_ONE_GROUP = new Set(['EXT-01']);

// FIFO queues (fifo: true, every name gets `.fifo`) on the ElasticMQ at 127.0.0.1:9324: per-key
// order (MessageGroupId) and deduplication are claimed, per-message delay is not. One group is
// served one batch at a time, so PUB-01 sends a tenth of its 10,000 messages.
describeTransportConformance(elasticMqHarness('sqs-fifo', { fifo: true }, { scale: 0.1 }), {
  only: ALL_CASES.map((c) => c.id).filter((id) => !NOT_ON_ONE_GROUP.has(id)),
});
