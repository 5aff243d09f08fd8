import assert from 'node:assert/strict';
import type { CaseContext } from '../case.js';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { expectRejection, expectResolves } from '../support/expect-error.js';
import { idOf, probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';
import { QUIET_WINDOW_MS } from './timeouts.js';

/** Short enough to keep the case quick, long enough for any broker to hand the message out first. */
const VISIBILITY_TIMEOUT_MS = 1000;

/**
 * LSE-01: a delivery whose lease is gone cannot be settled any more: ack (and any later settle)
 * rejects with LeaseLostError, and the message belongs to whoever holds it now. The stale ack must
 * not remove the new owner's message.
 *
 * The lease is taken away the way the broker does it: past the visibility timeout where the
 * transport has one (the message is redelivered to a second consumer); by silencing the consumer's
 * network through the fault proxy until its group gives its partitions to a second member, where
 * redelivery follows a rebalance (Kafka); otherwise by cutting the consumer's connection through
 * the fault proxy (the broker requeues what the connection held).
 */
export const settleAfterLeaseLossReportsLeaseLost = defineCase({
  id: 'LSE-01',
  title: 'a settle after the lease is lost rejects with LeaseLostError; the message goes to its new owner',
  verifies: ['lease'],
  requires(caps, harness) {
    if (caps.redelivery.visibilityTimeoutMs !== null || harness.upstream) return undefined;
    return 'capabilities.redelivery.visibilityTimeoutMs is null and harness.upstream is not set: the suite has no way to take a lease away';
  },
  async run(ctx) {
    if (ctx.capabilities.redelivery.visibilityTimeoutMs !== null) await loseLeaseByVisibilityTimeout(ctx);
    else if (ctx.capabilities.redelivery.trigger === 'rebalance') await loseLeaseByRebalance(ctx);
    else await loseLeaseByConnectionCut(ctx);
  },
});

async function loseLeaseByVisibilityTimeout(ctx: CaseContext): Promise<void> {
  const queue = ctx.queue();
  const stale = await ctx.transport({ visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS });
  await stale.declareQueue({ name: queue });
  const id = `${queue}-leased`;
  await stale.publish(queue, probeMessage(id));
  const holder = await new ConsumerProbe(stale, queue, 1, 'hold').start();
  await holder.waitForCount(1, ctx.patienceMs);
  const lost = holder.deliveries[0]!;
  const heldAt = Date.now();
  // The holder takes nothing more, so the expired message goes to the second consumer.
  holder.stop();
  // The new owner keeps its default (long) timeout: its lease must outlive the checks below.
  const owner = await ctx.transport();
  const taker = await new ConsumerProbe(owner, queue, 1, 'hold').start();
  await taker.waitForCount(1, ctx.patienceMs + VISIBILITY_TIMEOUT_MS);
  const lostAfter = Date.now() - heldAt;
  ctx.metric('redelivered-to-new-owner-after', lostAfter, 'ms');
  const current = taker.deliveries[0]!;
  assert.equal(
    idOf(current),
    id,
    `expected the message held past its ${VISIBILITY_TIMEOUT_MS} ms visibility timeout (${id}) to reach the second consumer, got ${idOf(current)}`,
  );
  const why = `held past its ${VISIBILITY_TIMEOUT_MS} ms visibility timeout and redelivered to another consumer after ${lostAfter} ms`;
  await expectStaleSettlesLostAndNewAckStands(ctx, lost, why, taker, current, 1);
}

async function loseLeaseByConnectionCut(ctx: CaseContext): Promise<void> {
  const proxy = await ctx.faultProxy();
  const queue = ctx.queue();
  const direct = await ctx.transport();
  await direct.declareQueue({ name: queue });
  const cutOff = await ctx.transport({ endpoint: proxy.endpoint });
  const probe = await new ConsumerProbe(cutOff, queue, 1, 'hold').start();
  const id = `${queue}-leased`;
  await direct.publish(queue, probeMessage(id));
  await probe.waitForCount(1, ctx.patienceMs);
  const lost = probe.deliveries[0]!;
  const cutAt = Date.now();
  proxy.cutAll();
  // The broker requeues what the cut connection held; the transport reconnects by itself (RCN-01)
  // and is handed the message again on its new connection: only then is the old lease surely gone.
  await probe.waitForCount(2, ctx.patienceMs * 2);
  const backAfter = Date.now() - cutAt;
  ctx.metric('redelivered-after-cut', backAfter, 'ms');
  const current = probe.deliveries[1]!;
  assert.equal(
    idOf(current),
    id,
    `expected the message held when the connection was cut (${id}) to be delivered again, got ${idOf(current)}`,
  );
  const why = `whose connection was cut, the message having been delivered again on a new connection ${backAfter} ms later`;
  await expectSettlesReportLeaseLost(ctx, lost, why);
  await expectResolves(
    () => probe.ack(current),
    'the ack of the redelivered message after the stale ack (the stale ack must not have removed it)',
  );
  await sleep(QUIET_WINDOW_MS);
  assert.equal(
    probe.deliveries.length,
    2,
    `expected the message to be gone once its redelivery was acked, but it was delivered ${probe.deliveries.length} times`,
  );
}

/**
 * A consumer group member whose network goes silent (a partition, not a close: its connections stay
 * open and unanswered) is removed from the group after its session timeout, and its partitions go
 * to the other member. Its settles must then report LeaseLostError, even before its connections
 * come back, and the new owner's ack must stand.
 */
async function loseLeaseByRebalance(ctx: CaseContext): Promise<void> {
  const proxy = await ctx.faultProxy();
  const queue = ctx.queue();
  const direct = await ctx.transport();
  await direct.declareQueue({ name: queue });
  const silenced = await ctx.transport({ endpoint: proxy.endpoint });
  const holder = await new ConsumerProbe(silenced, queue, 1, 'hold').start();
  const id = `${queue}-leased`;
  await direct.publish(queue, probeMessage(id));
  await holder.waitForCount(1, ctx.patienceMs);
  const lost = holder.deliveries[0]!;
  const taker = await new ConsumerProbe(await ctx.transport(), queue, 1, 'hold').start();
  const silencedAt = Date.now();
  proxy.blackhole(true);
  try {
    await taker.waitForCount(1, ctx.patienceMs * 2);
    const movedAfter = Date.now() - silencedAt;
    ctx.metric('redelivered-to-new-owner-after', movedAfter, 'ms');
    const current = taker.deliveries[0]!;
    assert.equal(
      idOf(current),
      id,
      `expected the message held by the silenced member (${id}) to reach the other member, got ${idOf(current)}`,
    );
    const why = `whose member was silenced until the group gave its partition to another member ${movedAfter} ms later`;
    await expectStaleSettlesLostAndNewAckStands(ctx, lost, why, taker, current, 1);
  } finally {
    proxy.blackhole(false);
    proxy.cutAll();
  }
}

/**
 * The stale delivery's settles report LeaseLostError, the current owner's ack then stands, and the
 * message is gone: `owner` has seen it `deliveries` times and sees it no more.
 */
async function expectStaleSettlesLostAndNewAckStands(
  ctx: CaseContext,
  lost: { ack(): Promise<void>; nack(): Promise<void> },
  why: string,
  owner: ConsumerProbe,
  current: Parameters<ConsumerProbe['ack']>[0],
  deliveries: number,
): Promise<void> {
  await expectSettlesReportLeaseLost(ctx, lost, why);
  await expectResolves(
    () => owner.ack(current),
    'the new owner acked the message after the stale ack (the stale ack must not have removed it)',
  );
  await sleep(QUIET_WINDOW_MS);
  assert.equal(
    owner.deliveries.length,
    deliveries,
    `expected the message to be gone once its new owner acked it, but it was delivered ${owner.deliveries.length} times`,
  );
}

/** Ack, then nack, of a delivery whose lease is gone: each must report LeaseLostError. */
async function expectSettlesReportLeaseLost(
  ctx: CaseContext,
  lost: { ack(): Promise<void>; nack(): Promise<void> },
  why: string,
): Promise<void> {
  await expectRejection(() => lost.ack(), 'LEASE_LOST', `ack of a delivery ${why}`, ctx.patienceMs);
  await expectRejection(
    () => lost.nack(),
    'LEASE_LOST',
    `nack of the same delivery after its stale ack (the lease is still gone; it must not requeue a copy)`,
    ctx.patienceMs,
  );
}
