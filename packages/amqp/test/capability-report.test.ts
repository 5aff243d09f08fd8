import { fileURLToPath } from 'node:url';
import { checkCapabilityReports } from '@conveyor/conformance';
import { it } from 'vitest';
import { rabbitHarness } from './amqp-harness.js';

// What AmqpTransport claims, and so which conformance cases run on it, is pinned in
// capability-report.json: a changed claim (say delay.mode set to 'none') would otherwise turn
// cases into skips without anyone noticing. The harnesses are those of conformance.test.ts and
// quorum.conformance.test.ts. To accept a change on purpose:
//   CONVEYOR_UPDATE_CAPABILITY_REPORTS=1 npx vitest run test/capability-report.test.ts
it('AmqpTransport claims what the committed capability report says', async () => {
  await checkCapabilityReports(fileURLToPath(new URL('./capability-report.json', import.meta.url)), [
    rabbitHarness('amqp'),
    rabbitHarness('amqp-priority', { priorityLevels: 10 }),
    rabbitHarness('amqp-quorum', { queueType: 'quorum', deliveryLimit: 20 }),
  ]);
});
