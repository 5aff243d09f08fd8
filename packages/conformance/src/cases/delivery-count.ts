import { CARRIED_DELIVERY_COUNT_HEADER as CARRIED } from '@conveyor/core/transport';
import type { CaseContext } from '../case.js';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { idOf, probeMessage } from '../support/probe-message.js';
import { describeError } from '../support/reported-errors.js';

/** Short enough to keep the case quick, long enough for any broker to hand the message out first. */
const VISIBILITY_TIMEOUT_MS = 1000;

/** One way a message comes back, and how to cause it. */
interface RedeliveryKind {
  /** Plain words for messages: `after a nack`. */
  readonly name: string;
  /** Used in queue and metric names. */
  readonly slug: string;
  /** Delivers `id` from `queue` once and causes its redelivery; returns both delivery counts. */
  redeliver(ctx: CaseContext, queue: string, id: string): Promise<{ before: number; after: number }>;
}

/**
 * The kinds of redelivery a transport with these capabilities claims: a nack always, a lost
 * consumer (its connection closed) always, a nack with a delay when delays are claimed, the
 * visibility timeout when there is one.
 */
function redeliveryKinds(ctx: CaseContext): RedeliveryKind[] {
  const caps = ctx.capabilities;
  const kinds: RedeliveryKind[] = [
    { name: 'a nack', slug: 'nack', redeliver: (c, q, id) => viaNack(c, q, id, undefined) },
    {
      name: 'its consumer closing its connection without settling',
      slug: 'closed-consumer',
      redeliver: viaClosedConsumer,
    },
  ];
  if (caps.delay.mode !== 'none') {
    const wanted = Math.max(100, caps.delay.precisionMs);
    const delayMs = caps.delay.maxDelayMs === null ? wanted : Math.min(wanted, caps.delay.maxDelayMs);
    kinds.push({
      name: `a nack with delayMs ${delayMs}`,
      slug: 'delayed-nack',
      redeliver: (c, q, id) => viaNack(c, q, id, delayMs),
    });
  }
  if (caps.redelivery.visibilityTimeoutMs !== null) {
    kinds.push({
      name: `a ${VISIBILITY_TIMEOUT_MS} ms visibility timeout`,
      slug: 'visibility-timeout',
      redeliver: viaVisibilityTimeout,
    });
  }
  return kinds;
}

/**
 * CNT-01: `deliveryCount` rises by exactly one after every kind of redelivery the transport
 * claims. Each kind starts from a first delivery of its own message. Exact, not a lower bound: the
 * Worker's delivery limit (maxDeliveries) counts on it, so a transport whose broker only flags
 * redeliveries must track the count itself (as the AMQP transport does on classic queues).
 */
export const deliveryCountRisesOnEveryRedelivery = defineCase({
  id: 'CNT-01',
  title:
    'deliveryCount rises by one after every kind of redelivery (nack, delayed nack, lost consumer, timeout)',
  verifies: ['deliveryCount', 'redelivery'],
  async run(ctx) {
    const kinds = redeliveryKinds(ctx);
    // Independent queues and transports: the kinds run side by side to keep the case quick.
    const outcomes = await Promise.allSettled(
      kinds.map(async (kind) => {
        const queue = ctx.queue(kind.slug);
        const counts = await kind.redeliver(ctx, queue, `${queue}-msg`);
        ctx.metric(`deliveryCount-after-${kind.slug}`, counts.after, 'count');
        return counts;
      }),
    );
    const problems = outcomes.flatMap((outcome, i) => {
      const kind = kinds[i]!;
      if (outcome.status === 'rejected')
        return [`redelivery after ${kind.name}: ${describeError(outcome.reason)}`];
      const { before, after } = outcome.value;
      if (before < 1) return [`expected deliveryCount >= 1 on a first delivery, got ${before}`];
      if (after === before + 1) return [];
      return [`expected deliveryCount ${before + 1} after ${kind.name}, got ${after}`];
    });
    if (problems.length > 0) throw new Error(problems.join('; '));
  },
});

async function firstDelivery(ctx: CaseContext, queue: string, id: string, visibilityTimeoutMs?: number) {
  const transport = await ctx.transport(visibilityTimeoutMs === undefined ? {} : { visibilityTimeoutMs });
  await transport.declareQueue({ name: queue });
  await transport.publish(queue, probeMessage(id));
  const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
  await probe.waitForCount(1, ctx.patienceMs);
  const delivery = probe.deliveries[0]!;
  if (idOf(delivery) !== id) throw new Error(`expected ${id} on a fresh queue, got ${idOf(delivery)}`);
  return { transport, probe, delivery };
}

async function viaNack(
  ctx: CaseContext,
  queue: string,
  id: string,
  delayMs: number | undefined,
): Promise<{ before: number; after: number }> {
  const { probe, delivery } = await firstDelivery(ctx, queue, id);
  await probe.nack(delivery, delayMs);
  await probe.waitForCount(2, ctx.patienceMs + (delayMs ?? 0));
  const again = probe.deliveries[1]!;
  await probe.ack(again);
  return { before: delivery.deliveryCount, after: again.deliveryCount };
}

async function viaClosedConsumer(
  ctx: CaseContext,
  queue: string,
  id: string,
): Promise<{ before: number; after: number }> {
  const { transport, delivery } = await firstDelivery(ctx, queue, id);
  await transport.close();
  const taker = await new ConsumerProbe(await ctx.transport(), queue, 1, 'hold').start();
  await taker.waitForCount(1, ctx.patienceMs);
  const again = taker.deliveries[0]!;
  await taker.ack(again);
  return { before: delivery.deliveryCount, after: again.deliveryCount };
}

async function viaVisibilityTimeout(
  ctx: CaseContext,
  queue: string,
  id: string,
): Promise<{ before: number; after: number }> {
  const { probe, delivery } = await firstDelivery(ctx, queue, id, VISIBILITY_TIMEOUT_MS);
  // Nobody settles it and its connection stays open: only the timeout can bring it back.
  probe.stop();
  const taker = await new ConsumerProbe(await ctx.transport(), queue, 1, 'hold').start();
  await taker.waitForCount(1, ctx.patienceMs + VISIBILITY_TIMEOUT_MS);
  const again = taker.deliveries[0]!;
  await taker.ack(again);
  return { before: delivery.deliveryCount, after: again.deliveryCount };
}

/**
 * CNT-02: a copy of a message re-published with `x-conveyor-delivery-count: N` (how the Worker sets
 * a message aside without charging it, and how a delayed nack may travel) is delivered with
 * `deliveryCount` N + 1, and its handler does not see the header. TransportDelivery does this for
 * every transport built on it; a transport with its own Delivery must do the same.
 */
export const carriedDeliveryCountIsKept = defineCase({
  id: 'CNT-02',
  title: 'a re-published copy keeps its delivery count (x-conveyor-delivery-count)',
  verifies: ['deliveryCount'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue('carried');
    await transport.declareQueue({ name: queue });
    const id = `${queue}-msg`;
    const message = probeMessage(id);
    await transport.publish(queue, { ...message, headers: { ...message.headers, [CARRIED]: 3 } });
    const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const delivery = probe.deliveries[0]!;
    await probe.ack(delivery);
    ctx.metric('deliveryCount-of-copy-carrying-3', delivery.deliveryCount, 'count');
    if (delivery.deliveryCount !== 4) {
      throw new Error(
        `expected deliveryCount 4 for a first delivery of a copy carrying 3, got ${delivery.deliveryCount}`,
      );
    }
    if (delivery.message && CARRIED in delivery.message.headers) {
      throw new Error(`expected the ${CARRIED} header to be removed from the delivered message`);
    }
  },
});
