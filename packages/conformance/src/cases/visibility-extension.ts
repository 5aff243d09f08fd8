import assert from 'node:assert/strict';
import { type Delivery, MAX_VISIBILITY_EXTENSION_MS } from '@conveyor/core/transport';
import type { CaseContext } from '../case.js';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { expectRejection, expectResolves } from '../support/expect-error.js';
import { idOf, probeMessage } from '../support/probe-message.js';
import { sleep, waitUntil } from '../support/wait.js';

const VISIBILITY_TIMEOUT_MS = 1000;
/** Eight timeouts: far longer than the case watches, so any redelivery of it is a failure. */
const EXTENDED_TO_MS = 8 * VISIBILITY_TIMEOUT_MS;
/** How long after the extension the case watches for a premature redelivery. */
const WATCH_MS = 2.5 * VISIBILITY_TIMEOUT_MS;
const OUT_OF_RANGE = [0, -1, MAX_VISIBILITY_EXTENSION_MS + 1, Number.NaN, Number.POSITIVE_INFINITY];

/**
 * EXT-01: what `extendVisibility(ms)` may and may not do. Where `visibilityExtension` is claimed:
 * `ms` outside 1..MAX_VISIBILITY_EXTENSION_MS (12 h) rejects with InvalidOptionError; it never
 * settles the delivery (a nack afterwards still requeues) nor changes its `deliveryCount`; after
 * an ack it is a no-op (the message stays gone); after the lease ran out it rejects with
 * LeaseLostError; and it really postpones redelivery (extended to 8 s on a 1 s timeout, the
 * message is not handed out again while the case watches). Where it is not claimed, calling it
 * rejects with UnsupportedFeatureError and leaves the delivery as it was.
 */
export const extendVisibilityKeepsItsContract = defineCase({
  id: 'EXT-01',
  title:
    'extendVisibility: 1 ms..12 h, never settles, a no-op after settle, LeaseLostError after lease loss, postpones redelivery',
  verifies: ['visibilityExtension'],
  async run(ctx) {
    if (ctx.capabilities.visibilityExtension) await extensionKeepsTheContract(ctx);
    else await extensionIsRefused(ctx);
  },
});

async function extensionIsRefused(ctx: CaseContext): Promise<void> {
  const transport = await ctx.transport();
  const queue = ctx.queue();
  await transport.declareQueue({ name: queue });
  await transport.publish(queue, probeMessage(`${queue}-held`));
  const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
  await probe.waitForCount(1, ctx.patienceMs);
  const delivery = probe.deliveries[0]!;
  await expectRejection(
    () => delivery.extendVisibility(60_000),
    'UNSUPPORTED_FEATURE',
    'extendVisibility(60000) where capabilities.visibilityExtension is false',
    ctx.patienceMs,
  );
  await expectResolves(
    () => probe.ack(delivery),
    'ack of the delivery whose extendVisibility was refused (the refusal must leave it open)',
  );
}

async function extensionKeepsTheContract(ctx: CaseContext): Promise<void> {
  const transport = await ctx.transport({ visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS });
  const queue = ctx.queue();
  await transport.declareQueue({ name: queue });
  const id = {
    extended: `${queue}-extended`,
    range: `${queue}-range`,
    settled: `${queue}-settled`,
    lapsed: `${queue}-lapsed`,
  };
  for (const each of Object.values(id)) await transport.publish(queue, probeMessage(each));
  const arrivals = new Map<string, number[]>();
  // Everything with a deadline is done the moment the message arrives, long before its 1 s lease
  // can run out on a slow machine; the outcomes are judged below. Until then a rejection must not
  // count as unhandled.
  const atHandOut = new Map<string, Promise<void>>();
  let extendedAt = 0;
  // Room for the four and their redeliveries.
  const probe = await new ConsumerProbe(transport, queue, 6, (delivery, p) => {
    const key = idOf(delivery) ?? '';
    arrivals.set(key, [...(arrivals.get(key) ?? []), Date.now()]);
    if (atHandOut.has(key)) return;
    let outcome: Promise<void> | undefined;
    if (key === id.extended) {
      extendedAt = Date.now();
      outcome = delivery.extendVisibility(EXTENDED_TO_MS);
    } else if (key === id.range) {
      // Kept open (and its lease held) while the range is checked on it.
      outcome = delivery.extendVisibility(EXTENDED_TO_MS);
    } else if (key === id.settled) {
      outcome = p.ack(delivery);
    }
    if (outcome) {
      outcome.catch(() => {});
      atHandOut.set(key, outcome);
    }
  }).start();
  await probe.waitForIds(Object.values(id), ctx.patienceMs);
  const first = (key: string): Delivery => probe.deliveries.find((d) => idOf(d) === key)!;
  const timesSeen = (key: string): number => arrivals.get(key)?.length ?? 0;
  const extended = first(id.extended);
  await expectResolves(
    () => atHandOut.get(id.extended)!,
    `extendVisibility(${EXTENDED_TO_MS}) of a delivery as it arrived`,
  );
  await expectResolves(
    () => atHandOut.get(id.range)!,
    `extendVisibility(${EXTENDED_TO_MS}) of a second delivery as it arrived`,
  );
  await expectResolves(() => atHandOut.get(id.settled)!, 'ack of a delivery as it arrived');

  // Out of range: refused, naming the option.
  const range = first(id.range);
  const countBefore = range.deliveryCount;
  for (const ms of OUT_OF_RANGE) {
    await expectRejection(
      () => range.extendVisibility(ms),
      'INVALID_OPTION',
      `extendVisibility(${ms}) (allowed: 1..${MAX_VISIBILITY_EXTENSION_MS} ms, i.e. up to 12 h)`,
      ctx.patienceMs,
    );
  }
  await expectResolves(
    () => range.extendVisibility(MAX_VISIBILITY_EXTENSION_MS),
    `extendVisibility(${MAX_VISIBILITY_EXTENSION_MS}) (12 h, the largest allowed)`,
  );
  assert.equal(
    range.deliveryCount,
    countBefore,
    `expected extendVisibility to leave deliveryCount at ${countBefore}, got ${range.deliveryCount}`,
  );
  // It did not settle the delivery: a nack still hands the message out again.
  await expectResolves(() => probe.nack(range), 'nack after extendVisibility');
  await waitUntil(
    () => timesSeen(id.range) >= 2,
    ctx.patienceMs,
    () =>
      'the message nacked after extendVisibility to be delivered again (extendVisibility must not settle a delivery)',
  );
  await probe.ack(probe.deliveries.filter((d) => idOf(d) === id.range)[1]!);

  // After settle: a no-op.
  const settled = first(id.settled);
  await expectResolves(
    () => settled.extendVisibility(5000),
    'extendVisibility(5000) after ack (must be a no-op)',
  );

  // After the lease ran out: LeaseLostError.
  const lapsed = first(id.lapsed);
  await waitUntil(
    () => timesSeen(id.lapsed) >= 2,
    ctx.patienceMs + VISIBILITY_TIMEOUT_MS,
    () =>
      `the unsettled, unextended message to be redelivered after the ${VISIBILITY_TIMEOUT_MS} ms visibility timeout (without it, extension cannot be judged)`,
  );
  const [lapsedFirst, lapsedAgain] = arrivals.get(id.lapsed)! as [number, number];
  ctx.metric('unextended-redelivered-after', lapsedAgain - lapsedFirst, 'ms');
  await expectRejection(
    () => lapsed.extendVisibility(5000),
    'LEASE_LOST',
    `extendVisibility(5000) of a delivery whose ${VISIBILITY_TIMEOUT_MS} ms visibility timeout ran out (redelivered after ${lapsedAgain - lapsedFirst} ms)`,
    ctx.patienceMs,
  );
  await probe.ack(probe.deliveries.filter((d) => idOf(d) === id.lapsed)[1]!);

  // The extension really postpones redelivery.
  await sleep(Math.max(0, extendedAt + WATCH_MS - Date.now()));
  const extendedTimes = arrivals.get(id.extended)!;
  if (extendedTimes.length > 1) {
    const after = (extendedTimes[1]! - extendedTimes[0]!) / 1000;
    assert.fail(
      `extended to ${EXTENDED_TO_MS / 1000} s on a ${VISIBILITY_TIMEOUT_MS / 1000} s timeout, but redelivered after ${after} s`,
    );
  }
  await expectResolves(
    () => probe.ack(extended),
    `ack of the delivery extended to ${EXTENDED_TO_MS / 1000} s, ${((Date.now() - extendedAt) / 1000).toFixed(1)} s after the extension (its lease must still be held)`,
  );
  assert.equal(
    timesSeen(id.settled),
    1,
    `expected the message acked before extendVisibility to stay gone, but it was delivered ${timesSeen(id.settled)} times`,
  );
}
