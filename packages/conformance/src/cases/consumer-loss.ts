import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { missingIds, probeIds, probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';

/**
 * CRS-01: a consumer that closes its connection without acking loses nothing: another consumer
 * gets every message it held. Catches transports that ack on receipt.
 */
export const closedConsumerMessagesAreRedelivered = defineCase({
  id: 'CRS-01',
  title: 'a consumer that closes without acking has its messages redelivered',
  verifies: ['at-least-once', 'redelivery'],
  async run(ctx) {
    const queue = ctx.queue();
    const first = await ctx.transport();
    await first.declareQueue({ name: queue });
    const ids = probeIds(queue, 10);
    for (const id of ids) await first.publish(queue, probeMessage(id));
    const holder = await new ConsumerProbe(first, queue, 10, 'hold').start();
    await holder.waitForIds(ids, ctx.patienceMs);
    await first.close();
    const second = await ctx.transport();
    const taker = await new ConsumerProbe(second, queue, 10, 'ack').start();
    await taker.waitForIds(ids, ctx.patienceMs);
    const low = taker.deliveries.filter((d) => d.deliveryCount < 2);
    assert.equal(
      low.length,
      0,
      `expected deliveryCount >= 2 on every message redelivered after its consumer closed, got ${low.map((d) => d.deliveryCount).join(', ')} on ${low.length} of ${taker.deliveries.length}`,
    );
  },
});

/**
 * CRS-02: aborting a consumer stops new deliveries at once, keeps held deliveries settleable,
 * and closing the connection afterwards returns the unsettled ones.
 */
export const abortedConsumerStopsAndReturnsMessages = defineCase({
  id: 'CRS-02',
  title: 'an aborted consumer gets nothing new; what it held returns when its connection closes',
  verifies: ['consume', 'redelivery'],
  async run(ctx) {
    const queue = ctx.queue();
    const first = await ctx.transport();
    await first.declareQueue({ name: queue });
    const ids = probeIds(queue, 6);
    for (const id of ids.slice(0, 3)) await first.publish(queue, probeMessage(id));
    const holder = await new ConsumerProbe(first, queue, 3, 'hold').start();
    await holder.waitForCount(3, ctx.patienceMs);
    holder.stop();
    for (const id of ids.slice(3)) await first.publish(queue, probeMessage(id));
    await sleep(500);
    assert.equal(
      holder.deliveries.length,
      3,
      `expected an aborted consumer to receive nothing new (3 deliveries), got ${holder.deliveries.length}`,
    );
    // Held deliveries stay valid after abort: acking one must work and remove it.
    const acked = holder.deliveries[0]!;
    await holder.ack(acked);
    await first.close();
    const second = await ctx.transport();
    const taker = await new ConsumerProbe(second, queue, 10, 'ack').start();
    const expected = ids.filter((id) => !holder.acked.has(id));
    await taker.waitForIds(expected, ctx.patienceMs);
    await sleep(300);
    const ackedAfterAbort = [...holder.acked][0]!;
    assert.ok(
      !taker.seen.has(ackedAfterAbort),
      `expected ${ackedAfterAbort}, acked after its consumer was aborted, to stay gone, but it was delivered again on a new connection`,
    );
  },
});

/**
 * CRS-04: a signal that aborts while `consume` is still setting the consumer up stops it all the
 * same. The Worker pauses consumption the moment a redelivered message arrives, which can be
 * before `consume` resolved; a transport that registers its abort listener only afterwards misses
 * the abort and leaves a consumer nobody can stop, holding messages forever.
 */
export const abortDuringConsumeStops = defineCase({
  id: 'CRS-04',
  title: 'a signal aborted while consume() is setting up still stops the consumer',
  verifies: ['consume'],
  async run(ctx) {
    const queue = ctx.queue();
    const transport = await ctx.transport();
    await transport.declareQueue({ name: queue });
    const received: string[] = [];
    const controller = new AbortController();
    const registering = transport.consume(
      queue,
      (delivery) => {
        received.push(String(delivery.message?.headers.id));
      },
      { prefetch: 5, signal: controller.signal },
    );
    controller.abort();
    await registering;
    const ids = probeIds(queue, 3);
    for (const id of ids) await transport.publish(queue, probeMessage(id));
    await sleep(500);
    assert.deepEqual(
      received,
      [],
      `expected a consumer aborted during consume() to receive nothing, got ${received.join(', ')}`,
    );
    const taker = await new ConsumerProbe(await ctx.transport(), queue, 5, 'ack').start();
    await taker.waitForIds(ids, ctx.patienceMs);
  },
});

/**
 * CRS-03: a delivery nobody settles (a hung consumer that never closes) is handed out again after
 * the visibility timeout; extendVisibility postpones that.
 */
export const visibilityTimeoutRedelivers = defineCase({
  id: 'CRS-03',
  title: 'an unsettled delivery returns after the visibility timeout; extendVisibility postpones it',
  verifies: ['redelivery.visibilityTimeoutMs', 'visibilityExtension'],
  requires(caps) {
    if (caps.redelivery.visibilityTimeoutMs === null)
      return 'capabilities.redelivery.visibilityTimeoutMs is null';
    return undefined;
  },
  async run(ctx) {
    const visibilityTimeoutMs = 1000;
    const queue = ctx.queue();
    const hung = await ctx.transport({ visibilityTimeoutMs });
    await hung.declareQueue({ name: queue });
    const ids = probeIds(queue, 2);
    for (const id of ids) await hung.publish(queue, probeMessage(id));
    const stuck = await new ConsumerProbe(hung, queue, 2, 'hold').start();
    await stuck.waitForCount(2, ctx.patienceMs);
    const receivedAt = Date.now();
    const extended = stuck.deliveries.find((d) => d.message?.headers.id === ids[1])!;
    const extendable = hung.capabilities.visibilityExtension;
    if (extendable) await extended.extendVisibility(visibilityTimeoutMs * 8);
    stuck.stop();
    const rescuer = await ctx.transport({ visibilityTimeoutMs });
    const taker = await new ConsumerProbe(rescuer, queue, 2, 'ack').start();
    await taker.waitForIds([ids[0]!], ctx.patienceMs);
    const waited = Date.now() - receivedAt;
    ctx.metric('redelivered-after', waited, 'ms');
    assert.ok(
      waited >= visibilityTimeoutMs * 0.9,
      `expected redelivery no earlier than the ${visibilityTimeoutMs} ms visibility timeout, got it after ${waited} ms`,
    );
    if (extendable) {
      await sleep(visibilityTimeoutMs * 2);
      const watched = Date.now() - receivedAt;
      assert.ok(
        !taker.seen.has(ids[1]!),
        `extended by ${(visibilityTimeoutMs * 8) / 1000} s on a ${visibilityTimeoutMs / 1000} s timeout, but redelivered within ${(watched / 1000).toFixed(1)} s`,
      );
    }
  },
});

/**
 * CLS-01: closing a connection while deliveries are in flight loses nothing: every message is
 * acked by that consumer before the close or by the next one after it.
 */
export const closeInFlightLosesNothing = defineCase({
  id: 'CLS-01',
  title: 'close while messages are in flight loses nothing',
  verifies: ['close', 'at-least-once'],
  async run(ctx) {
    const queue = ctx.queue();
    const first = await ctx.transport();
    await first.declareQueue({ name: queue });
    const ids = probeIds(queue, ctx.scaled(300));
    await first.publishBatch(
      queue,
      ids.map((id, i) => ({ message: probeMessage(id, i) })),
    );
    // The consumer finishes work a little after receiving it; once its connection starts closing
    // it finishes nothing more, so whatever it held must come back through the broker.
    let closing = false;
    const slow = await new ConsumerProbe(first, queue, 20, (delivery, probe) => {
      setTimeout(() => {
        if (!closing) probe.ackInBackground(delivery);
      }, 2);
    }).start();
    await waitForAcked(slow, Math.floor(ids.length / 3), ctx.patienceMs);
    closing = true;
    assert.ok(
      slow.unsettled().length > 0 || slow.acked.size < ids.length,
      `the case needs messages in flight at close, but all ${ids.length} were acked before it (raise harness.scale)`,
    );
    await first.close();
    const second = await ctx.transport();
    const rest = await new ConsumerProbe(second, queue, 20, 'ack').start();
    const missing = (): string[] => missingIds(ids, new Set([...slow.acked, ...rest.acked]));
    const deadline = Date.now() + ctx.patienceMs;
    while (missing().length > 0 && Date.now() < deadline) await sleep(20);
    const lost = missing();
    assert.equal(
      lost.length,
      0,
      `expected all ${ids.length} messages acked before or after the close, ${lost.length} never came back, e.g. ${lost.slice(0, 5).join(', ')}`,
    );
  },
});

async function waitForAcked(probe: ConsumerProbe, count: number, patienceMs: number): Promise<void> {
  const deadline = Date.now() + patienceMs;
  while (probe.acked.size < count) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${patienceMs} ms waiting for ${count} acks, got ${probe.acked.size}`);
    await sleep(2);
  }
}
