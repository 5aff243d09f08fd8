import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { probeIds, probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';

/**
 * PRE-01: a consumer never holds more unsettled deliveries than its prefetch: neither while it
 * settles slowly, nor while it holds everything it has.
 */
export const prefetchBoundIsNeverExceeded = defineCase({
  id: 'PRE-01',
  title: 'the prefetch bound is never exceeded',
  verifies: ['prefetch'],
  async run(ctx) {
    const prefetch = 5;
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const ids = probeIds(queue, 60);
    await transport.publishBatch(
      queue,
      ids.map((id, i) => ({ message: probeMessage(id, i) })),
    );
    let holding = true;
    const probe = await new ConsumerProbe(transport, queue, prefetch, (delivery, p) => {
      if (!holding) setTimeout(() => p.ackInBackground(delivery), Math.random() * 4);
    }).start();
    await probe.waitForCount(prefetch, ctx.patienceMs);
    await sleep(300);
    assert.equal(
      probe.outstanding,
      prefetch,
      `expected a consumer that settles nothing to hold exactly its prefetch ${prefetch} of 60 messages, it held ${probe.outstanding}`,
    );
    holding = false;
    for (const delivery of probe.unsettled()) probe.ackInBackground(delivery);
    await probe.waitForIds(ids, ctx.patienceMs);
    assert.ok(
      probe.maxOutstanding <= prefetch,
      `up to ${probe.maxOutstanding} deliveries were unsettled at once with prefetch ${prefetch}`,
    );
  },
});
