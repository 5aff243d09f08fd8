import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';
import { QUIET_WINDOW_MS } from './timeouts.js';

/** DUP-01: two publishes with one deduplication id deliver once. */
export const deduplicationDropsRepeats = defineCase({
  id: 'DUP-01',
  title: 'a repeated deduplicationId is delivered once',
  verifies: ['deduplication'],
  requires: (caps) => (caps.deduplication ? undefined : 'capabilities.deduplication is false'),
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    await transport.publish(queue, probeMessage(`${queue}-a`), { deduplicationId: 'same' });
    await transport.publish(queue, probeMessage(`${queue}-b`), { deduplicationId: 'same' });
    await transport.publish(queue, probeMessage(`${queue}-c`), { deduplicationId: 'other' });
    const probe = await new ConsumerProbe(transport, queue, 5, 'ack').start();
    await probe.waitForIds([`${queue}-a`, `${queue}-c`], ctx.patienceMs);
    await sleep(QUIET_WINDOW_MS);
    assert.ok(
      !probe.seen.has(`${queue}-b`),
      `expected the second publish with deduplicationId "same" to be dropped, but it was delivered (${probe.deliveries.length} deliveries of 3 publishes, 2 distinct ids)`,
    );
  },
});
