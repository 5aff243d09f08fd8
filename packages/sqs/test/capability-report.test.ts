import { fileURLToPath } from 'node:url';
import { checkCapabilityReports } from '@conveyor/conformance';
import { it } from 'vitest';
import { elasticMqHarness } from './sqs-harness.js';

// What SqsTransport claims, and so which conformance cases run on it, is pinned in
// capability-report.json (standard and FIFO): a changed claim would otherwise turn cases into
// skips without anyone noticing. To accept a change on purpose:
//   CONVEYOR_UPDATE_CAPABILITY_REPORTS=1 npx vitest run test/capability-report.test.ts
it('SqsTransport claims what the committed capability report says', async () => {
  await checkCapabilityReports(fileURLToPath(new URL('./capability-report.json', import.meta.url)), [
    elasticMqHarness('sqs'),
    elasticMqHarness('sqs-fifo', { fifo: true }),
  ]);
});
