import type { QueueDepth, Transport } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { probeIds, probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';

/** Far enough out that no delayed message comes due while the case runs. */
const LONG_DELAY_MS = 60_000;

/** Brokers that count approximately and late (SQS) get this long (at most) to agree. */
const DEPTH_SETTLE_MS = 10_000;

/** What queueDepth should say; a field the transport reports as `undefined` is not judged. */
interface ExpectedDepth {
  ready: number;
  inFlight: number;
  delayed: number;
}

/**
 * DEP-01: `queueDepth` counts in-flight and delayed messages right, where the transport reports
 * them (`undefined` means it cannot tell, and is allowed). With 3 messages published, 2 held
 * unsettled by a consumer (prefetch 2) and 3 more published with a long delay: ready 1, inFlight
 * 2, delayed 3. Once the two are acked the consumer takes the third: ready 0, inFlight 1.
 */
export const queueDepthCountsInFlightAndDelayed = defineCase({
  id: 'DEP-01',
  title: 'queueDepth counts in-flight and delayed messages (where reported)',
  verifies: ['queueDepth'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    const settleMs = Math.min(DEPTH_SETTLE_MS, ctx.patienceMs);
    const expectDepth = (expected: ExpectedDepth, situation: string): Promise<void> =>
      expectQueueDepth(transport, queue, expected, situation, settleMs);
    const caps = transport.capabilities;
    await transport.declareQueue({ name: queue });
    const ready = probeIds(`${queue}-ready`, 3);
    for (const id of ready) await transport.publish(queue, probeMessage(id));
    const probe = await new ConsumerProbe(transport, queue, 2, 'hold').start();
    await probe.waitForCount(2, ctx.patienceMs);
    let delayed = 0;
    let delayedWords = 'nothing delayed (delays are not claimed)';
    if (caps.delay.mode !== 'none') {
      const delayMs =
        caps.delay.maxDelayMs === null ? LONG_DELAY_MS : Math.min(LONG_DELAY_MS, caps.delay.maxDelayMs);
      for (const id of probeIds(`${queue}-later`, 3)) {
        await transport.publish(queue, probeMessage(id), { delayMs });
      }
      delayed = 3;
      delayedWords = `3 delayed by ${delayMs / 1000} s`;
    }
    await expectDepth(
      { ready: 1, inFlight: 2, delayed },
      `3 published, 2 held unsettled by a consumer with prefetch 2, ${delayedWords}`,
    );
    for (const held of probe.unsettled()) await probe.ack(held);
    await probe.waitForCount(3, ctx.patienceMs);
    await expectDepth(
      { ready: 0, inFlight: 1, delayed },
      `the 2 held acked and the third taken and held unsettled, ${delayedWords}`,
    );
    probe.stop();
    await probe.ack(probe.deliveries[2]!);
    await expectDepth({ ready: 0, inFlight: 0, delayed }, `all 3 acked, ${delayedWords}`);
  },
});

/** Polls queueDepth until it matches (brokers may count late), then fails with what it last said. */
async function expectQueueDepth(
  transport: Transport,
  queue: string,
  expected: ExpectedDepth,
  situation: string,
  settleMs: number,
): Promise<void> {
  const deadline = Date.now() + settleMs;
  let depth = await transport.queueDepth(queue);
  while (!matches(depth, expected) && Date.now() < deadline) {
    await sleep(50);
    depth = await transport.queueDepth(queue);
  }
  if (matches(depth, expected)) return;
  const judged = `ready ${expected.ready}, inFlight ${expected.inFlight} (or undefined), delayed ${expected.delayed} (or undefined)`;
  throw new Error(
    `queueDepth with ${situation}: expected ${judged}, got ready ${depth.ready}, inFlight ${depth.inFlight}, delayed ${depth.delayed} (polled for ${settleMs} ms)`,
  );
}

function matches(depth: QueueDepth, expected: ExpectedDepth): boolean {
  return (
    depth.ready === expected.ready &&
    (depth.inFlight === undefined || depth.inFlight === expected.inFlight) &&
    (depth.delayed === undefined || depth.delayed === expected.delayed)
  );
}
