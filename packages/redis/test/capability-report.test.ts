import { fileURLToPath } from 'node:url';
import { checkCapabilityReports } from '@conveyor/conformance';
import { it } from 'vitest';
import { clusterHarness, singleNodeHarness } from './redis-harness.js';

// What RedisTransport claims, and so which conformance cases run on it, is pinned in
// capability-report.json: a changed claim (say delay.mode set to 'none') would otherwise turn
// cases into skips without anyone noticing. The harnesses are those of conformance.test.ts and
// cluster.conformance.test.ts. To accept a change on purpose:
//   CONVEYOR_UPDATE_CAPABILITY_REPORTS=1 npx vitest run test/capability-report.test.ts
it('RedisTransport claims what the committed capability report says', async () => {
  await checkCapabilityReports(fileURLToPath(new URL('./capability-report.json', import.meta.url)), [
    singleNodeHarness('redis', 9),
    clusterHarness(),
  ]);
});
