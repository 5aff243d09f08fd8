import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { clusterHarness } from './redis-harness.js';

// A three-node Redis Cluster (tooling/brokers): every key of a queue shares one hash slot.
describeTransportConformance(clusterHarness());
