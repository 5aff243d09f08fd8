import { describeTransportConformance } from '../src/vitest.js';
import { memoryHarness, restrictedMemoryHarness } from './memory-harness.js';

// The reference transport with every capability: every case must pass (RCN-* skip: no TCP).
describeTransportConformance(memoryHarness('memory'));

// The same transport with its claims withdrawn: proves the suite skips what is not claimed,
// with the reason in the report, and that UNS-01 catches unclaimed features being used.
describeTransportConformance(restrictedMemoryHarness());
