import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { redisStreamsHarness } from '../src/harness.js';

// Every case against the real Redis on 127.0.0.1:6379 (db 11): DLQ-02..04 write raw bytes through
// publishRaw, RCN-* cut connections through the suite's fault proxy in front of `upstream`.
describeTransportConformance(redisStreamsHarness());
