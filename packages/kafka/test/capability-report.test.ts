import { fileURLToPath } from 'node:url';
import { checkCapabilityReports } from '@conveyor/conformance';
import { it } from 'vitest';
import { kafkaHarness } from './kafka-harness.js';

// What KafkaTransport claims, and so which conformance cases run on it, is pinned in
// capability-report.json: a changed claim would otherwise turn cases into skips without anyone
// noticing. To accept a change on purpose:
//   CONVEYOR_UPDATE_CAPABILITY_REPORTS=1 npx vitest run test/capability-report.test.ts
it('KafkaTransport claims what the committed capability report says', async () => {
  await checkCapabilityReports(fileURLToPath(new URL('./capability-report.json', import.meta.url)), [
    kafkaHarness('kafka'),
  ]);
});
