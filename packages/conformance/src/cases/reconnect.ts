import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { probeIds, probeMessage } from '../support/probe-message.js';
import { waitUntil } from '../support/wait.js';

const NO_UPSTREAM = 'harness.upstream is not set: no TCP endpoint for the fault proxy to cut';

/**
 * RCN-01: after every connection of a consumer is cut (RST), the transport reconnects by itself
 * and the consumer receives what is published afterwards; nothing from before is lost.
 */
export const consumerSurvivesConnectionCut = defineCase({
  id: 'RCN-01',
  title: 'a consumer reconnects after its connections are cut and loses nothing',
  verifies: ['reconnect'],
  requires: (_caps, harness) => (harness.upstream ? undefined : NO_UPSTREAM),
  async run(ctx) {
    const proxy = await ctx.faultProxy();
    const queue = ctx.queue();
    const direct = await ctx.transport();
    await direct.declareQueue({ name: queue });
    const consumerTransport = await ctx.transport({ endpoint: proxy.endpoint });
    const probe = await new ConsumerProbe(consumerTransport, queue, 10, 'ack').start();
    const before = probeIds(`${queue}-before`, 20);
    for (const id of before) await direct.publish(queue, probeMessage(id));
    await probe.waitForIds(before, ctx.patienceMs);
    proxy.cutAll();
    const after = probeIds(`${queue}-after`, 20);
    for (const id of after) await direct.publish(queue, probeMessage(id));
    await probe.waitForIds(after, ctx.patienceMs * 2);
    await waitUntil(
      () => proxy.stats().accepted > 1,
      ctx.patienceMs,
      () => 'a new connection through the proxy',
    );
    const health = await consumerTransport.health();
    assert.equal(
      health.ok,
      true,
      `expected health ok after reconnecting, got ok: false (${health.detail ?? 'no detail'})`,
    );
    ctx.metric('connections-cut', proxy.stats().cut, 'connections');
  },
});

/** RCN-02: a publish through a cut connection either succeeds after reconnecting or rejects; it never hangs or fakes success. */
export const publishAfterCutIsNotSilentlyLost = defineCase({
  id: 'RCN-02',
  title: 'publishing across a connection cut never loses a message silently',
  verifies: ['reconnect'],
  requires: (_caps, harness) => (harness.upstream ? undefined : NO_UPSTREAM),
  async run(ctx) {
    const proxy = await ctx.faultProxy();
    const queue = ctx.queue();
    const producer = await ctx.transport({ endpoint: proxy.endpoint });
    await producer.declareQueue({ name: queue });
    const ids = probeIds(queue, 40);
    const confirmed: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (i === 20) proxy.cutAll();
      try {
        await producer.publish(queue, probeMessage(ids[i]!, i));
        confirmed.push(ids[i]!);
      } catch {
        // A rejected publish is allowed: the caller knows it did not happen.
      }
    }
    const consumer = await new ConsumerProbe(await ctx.transport(), queue, 20, 'ack').start();
    await consumer.waitForIds(confirmed, ctx.patienceMs);
    ctx.metric('publishes-confirmed', confirmed.length, 'of 40');
    assert.ok(
      confirmed.length >= 20,
      `expected the 20 publishes before the cut to succeed, only ${confirmed.length} of 40 publishes succeeded in all`,
    );
  },
});
