import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { kafkaHarness } from './kafka-harness.js';

// Topics of 3 partitions on the Kafka at 127.0.0.1:9092, every case; RCN-* and LSE-01 go through
// the suite's fault proxy, every broker connection mapped onto it (addressMap).
describeTransportConformance(kafkaHarness('kafka'));
