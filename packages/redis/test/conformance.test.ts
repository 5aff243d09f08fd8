import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { singleNodeHarness } from './redis-harness.js';

// The real Redis on 127.0.0.1:6379, every case; RCN-* go through the suite's fault proxy.
describeTransportConformance(singleNodeHarness('redis', 9));

// Again with kombu's global_keyprefix in use: every key and channel carries it.
describeTransportConformance(singleNodeHarness('redis-keyprefix', 9, { keyPrefix: 'tenant-a:' }), {
  only: ['PUB-01', 'ACK-01', 'CRS-01', 'DEL-01', 'PRI-01', 'DLQ-02', 'DLQ-03', 'DLQ-04'],
});
