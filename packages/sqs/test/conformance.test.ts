import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { elasticMqHarness } from './sqs-harness.js';

// Standard queues on the ElasticMQ at 127.0.0.1:9324, every case; RCN-* go through the suite's
// fault proxy. Delays above 1 s travel in hops (maxNativeDelayMs scaled down from 15 minutes).
describeTransportConformance(elasticMqHarness('sqs'));
