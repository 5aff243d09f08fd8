import assert from 'node:assert/strict';
import type { Delivery } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { idOf, probeIds, probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';
import { QUIET_WINDOW_MS } from './timeouts.js';

/**
 * ACK-01: an acked message is gone: it is not delivered again, not to this consumer, not to a
 * new connection, and the queue is empty.
 */
export const ackRemovesTheMessage = defineCase({
  id: 'ACK-01',
  title: 'ack removes the message: no redelivery, queue empty',
  verifies: ['ack'],
  async run(ctx) {
    const queue = ctx.queue();
    const first = await ctx.transport();
    await first.declareQueue({ name: queue });
    const ids = probeIds(queue, 20);
    for (const id of ids) await first.publish(queue, probeMessage(id));
    // Ack each id once; a redelivered id is held, so a transport that resurrects acked messages
    // is caught without looping forever.
    const ackOnce = (delivery: Delivery, p: ConsumerProbe): void => {
      const id = idOf(delivery);
      if (id !== undefined && !p.acked.has(id)) p.ackInBackground(delivery);
    };
    const probe = await new ConsumerProbe(first, queue, 5, ackOnce).start();
    await probe.waitForIds(ids, ctx.patienceMs);
    await sleep(QUIET_WINDOW_MS);
    assert.equal(
      probe.deliveries.length,
      ids.length,
      `expected ${ids.length} deliveries of ${ids.length} messages each acked once, got ${probe.deliveries.length}: acked messages were delivered again to the same consumer`,
    );
    probe.stop();
    await first.close();
    const second = await ctx.transport();
    const after = await new ConsumerProbe(second, queue, 5, 'hold').start();
    await sleep(QUIET_WINDOW_MS);
    const back = after.deliveries.map(idOf);
    assert.deepEqual(
      back,
      [],
      `expected no delivery on a new connection after every message was acked, got ${back.length}: ${back.slice(0, 5).join(', ')}`,
    );
    const depth = await second.queueDepth(queue);
    assert.equal(
      depth.ready,
      0,
      `expected ready 0 after all ${ids.length} messages were acked, got ${depth.ready}`,
    );
  },
});

/** ACK-02: nack with requeue hands the same message out again with a higher delivery count. */
export const nackRequeueRedelivers = defineCase({
  id: 'ACK-02',
  title: 'nack with requeue redelivers with a higher delivery count',
  verifies: ['nack', 'deliveryCount'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const id = `${queue}-nacked`;
    await transport.publish(queue, probeMessage(id));
    const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const firstDelivery = probe.deliveries[0]!;
    assert.equal(idOf(firstDelivery), id, `expected ${id} on a fresh queue, got ${idOf(firstDelivery)}`);
    assert.ok(
      firstDelivery.deliveryCount >= 1,
      `expected deliveryCount >= 1 on a first delivery, got ${firstDelivery.deliveryCount}`,
    );
    await probe.nack(firstDelivery);
    await probe.waitForCount(2, ctx.patienceMs);
    const again = probe.deliveries[1]!;
    assert.equal(idOf(again), id, `expected the nacked message ${id} to be redelivered, got ${idOf(again)}`);
    assert.ok(
      again.deliveryCount > firstDelivery.deliveryCount,
      `expected deliveryCount > ${firstDelivery.deliveryCount} after a nack, got ${again.deliveryCount}`,
    );
    await probe.ack(again);
  },
});

/** ACK-03: settling twice is a no-op: ack then nack does not requeue; double ack does not throw. */
export const secondSettleIsANoop = defineCase({
  id: 'ACK-03',
  title: 'a second settle of the same delivery is a no-op',
  verifies: ['ack', 'nack'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const id = `${queue}-once`;
    await transport.publish(queue, probeMessage(id));
    const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const delivery = probe.deliveries[0]!;
    await delivery.ack();
    await delivery.ack();
    await delivery.nack();
    await sleep(QUIET_WINDOW_MS);
    assert.equal(
      probe.deliveries.length,
      1,
      `expected 1 delivery after ack, ack, nack of the same delivery, got ${probe.deliveries.length}: the nack after the ack requeued an acked message`,
    );
  },
});
