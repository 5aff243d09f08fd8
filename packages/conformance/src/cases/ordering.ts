import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { idOf, probeIds, probeMessage } from '../support/probe-message.js';

/** ORD-01: one producer, one consumer, no failures: delivery follows publish order. */
export const queueOrderIsKept = defineCase({
  id: 'ORD-01',
  title: 'publish order is kept within a queue',
  verifies: ['ordering'],
  requires: (caps) =>
    caps.ordering !== 'queue' ? `capabilities.ordering is "${caps.ordering}", not "queue"` : undefined,
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const ids = probeIds(queue, 200);
    for (let i = 0; i < ids.length; i++) await transport.publish(queue, probeMessage(ids[i]!, i));
    const probe = await new ConsumerProbe(transport, queue, 1, 'ack').start();
    await probe.waitForIds(ids, ctx.patienceMs);
    const got = probe.deliveries.map(idOf);
    const at = got.findIndex((id, i) => id !== ids[i]);
    assert.deepEqual(
      got,
      ids,
      `expected the ${ids.length} messages in publish order, first difference at position ${at}: expected ${ids[at]}, got ${got[at]}`,
    );
  },
});

/** ORD-02: messages sharing an ordering key keep their order, whatever the interleaving. */
export const keyOrderIsKept = defineCase({
  id: 'ORD-02',
  title: 'publish order is kept per ordering key',
  verifies: ['ordering'],
  requires: (caps) => (caps.ordering === 'none' ? 'capabilities.ordering is "none"' : undefined),
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const keys = ['k0', 'k1', 'k2'];
    const perKey = 40;
    for (let i = 0; i < perKey; i++) {
      for (const key of keys) {
        await transport.publish(queue, probeMessage(`${queue}-${key}-${i}`, i), { orderingKey: key });
      }
    }
    const probe = await new ConsumerProbe(transport, queue, 1, 'ack').start();
    await probe.waitForCount(keys.length * perKey, ctx.patienceMs);
    for (const key of keys) {
      const seqs = probe.deliveries
        .map(idOf)
        .filter((id): id is string => id?.includes(`-${key}-`) ?? false)
        .map((id) => Number(id.split('-').pop()));
      assert.deepEqual(
        seqs,
        Array.from({ length: perKey }, (_, i) => i),
        `expected the ${perKey} messages of key ${key} in publish order 0..${perKey - 1}, got ${seqs.join(',')}`,
      );
    }
  },
});
