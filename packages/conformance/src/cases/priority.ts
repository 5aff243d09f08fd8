import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { idOf, probeMessage } from '../support/probe-message.js';

/** PRI-01: with messages waiting, the highest priority level is delivered first. */
export const higherPriorityIsDeliveredFirst = defineCase({
  id: 'PRI-01',
  title: 'the highest priority waiting is delivered first',
  verifies: ['priorityLevels'],
  requires: (caps) => (caps.priorityLevels < 2 ? 'capabilities.priorityLevels < 2' : undefined),
  async run(ctx) {
    const transport = await ctx.transport();
    const levels = transport.capabilities.priorityLevels;
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue, priorityLevels: levels });
    const top = levels - 1;
    const order = [0, top, 0, Math.floor(top / 2), top];
    const ids = order.map((level, i) => `${queue}-p${level}-${i}`);
    for (let i = 0; i < order.length; i++) {
      await transport.publish(queue, probeMessage(ids[i]!, i), { priority: order[i]! });
    }
    // Let brokers with asynchronous priority indexes settle before the first pull.
    await new Promise((r) => setTimeout(r, 200));
    const probe = await new ConsumerProbe(transport, queue, 1, 'ack').start();
    await probe.waitForIds(ids, ctx.patienceMs);
    const levelsSeen = probe.deliveries.map((d) => Number(idOf(d)!.split('-p')[1]!.split('-')[0]));
    const sorted = [...levelsSeen].sort((a, b) => b - a);
    assert.deepEqual(
      levelsSeen,
      sorted,
      `expected delivery in priority order ${sorted.join(', ')} (published ${order.join(', ')}), got ${levelsSeen.join(', ')}`,
    );
  },
});
