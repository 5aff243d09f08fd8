import type { ConveyorErrorCode, Delivery, Transport } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { errorNameOf, hasCode, rejectionProblem } from '../support/expect-error.js';
import { idOf, missingIds, probeMessage } from '../support/probe-message.js';
import { describeError } from '../support/reported-errors.js';

/** One settle of a delivery that was still open when its transport closed. */
interface LateSettle {
  /** Plain words: `ack`, `nack({ delayMs: 1000 })`. */
  readonly name: string;
  readonly call: (delivery: Delivery) => Promise<unknown>;
  /** Codes allowed besides TRANSPORT_CLOSED (an unclaimed feature may be refused as such first). */
  readonly alsoAllowed: readonly ConveyorErrorCode[];
}

function lateSettles(transport: Transport): LateSettle[] {
  const caps = transport.capabilities;
  const unclaimed = (claimed: boolean): readonly ConveyorErrorCode[] =>
    claimed ? [] : ['UNSUPPORTED_FEATURE'];
  const settles: LateSettle[] = [
    { name: 'ack()', call: (d) => d.ack(), alsoAllowed: [] },
    { name: 'nack()', call: (d) => d.nack(), alsoAllowed: [] },
    {
      name: 'reject(reason)',
      call: (d) => d.reject('rejected after close'),
      alsoAllowed: unclaimed(caps.deadLetter),
    },
    {
      name: 'extendVisibility(5000)',
      call: (d) => d.extendVisibility(5000),
      alsoAllowed: unclaimed(caps.visibilityExtension),
    },
  ];
  if (caps.delay.mode !== 'none') {
    const delayMs = Math.min(1000, caps.delay.maxDelayMs ?? 1000);
    settles.push({
      name: `nack({ delayMs: ${delayMs} })`,
      call: (d) => d.nack({ delayMs }),
      alsoAllowed: [],
    });
  }
  return settles;
}

/**
 * CLS-02: after `close`, everything rejects with TransportClosedError: every transport operation
 * (connect, declareQueue, publish, publishBatch, consume, queueDepth; health may instead resolve
 * with ok: false) and every settle of a delivery that was still open at close (ack, nack, nack
 * with a delay, reject, extendVisibility). The late settles change nothing: every one of those
 * messages is delivered again on a new connection.
 */
export const everythingAfterCloseRejects = defineCase({
  id: 'CLS-02',
  title: 'after close every operation and every settle rejects with TransportClosedError',
  verifies: ['close', 'lifecycle'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const settles = lateSettles(transport);
    const ids = settles.map((_, i) => `${queue}-m${i}`);
    for (const id of ids) await transport.publish(queue, probeMessage(id));
    const probe = await new ConsumerProbe(transport, queue, ids.length, 'hold').start();
    await probe.waitForCount(ids.length, ctx.patienceMs);
    await transport.close();

    const problems: string[] = [];
    const check = async (
      what: string,
      action: () => Promise<unknown>,
      also: readonly ConveyorErrorCode[] = [],
    ): Promise<void> => {
      const problem = await rejectionProblem(action, ['TRANSPORT_CLOSED', ...also], what, ctx.patienceMs);
      if (problem) problems.push(problem);
    };
    // Each late settle gets its own delivery, so a wrong one cannot hide behind "already settled".
    const settledWith = new Map<string, string>();
    for (const [i, settle] of settles.entries()) {
      const delivery = probe.deliveries[i]!;
      settledWith.set(idOf(delivery) ?? `delivery ${i}`, settle.name);
      await check(
        `${settle.name} of a delivery open at close`,
        () => settle.call(delivery),
        settle.alsoAllowed,
      );
    }
    await check('connect() after close', () => transport.connect());
    await check('declareQueue() after close', () => transport.declareQueue({ name: queue }));
    await check('publish() after close', () => transport.publish(queue, probeMessage(`${queue}-late`)));
    await check('publishBatch() after close', () =>
      transport.publishBatch(queue, [{ message: probeMessage(`${queue}-late-batch`) }]),
    );
    await check('consume() after close', () => transport.consume(queue, () => {}, { prefetch: 1 }));
    await check('queueDepth() after close', () => transport.queueDepth(queue));
    try {
      const health = await transport.health();
      if (health.ok)
        problems.push('health() after close: expected ok: false (or TransportClosedError), got ok: true');
    } catch (error) {
      if (!hasCode(error, ['TRANSPORT_CLOSED'])) {
        problems.push(
          `health() after close: expected ok: false or ${errorNameOf('TRANSPORT_CLOSED')}, but it rejected with ${describeError(error)}`,
        );
      }
    }
    try {
      await transport.close();
    } catch (error) {
      problems.push(
        `a second close() must resolve (close is idempotent), but it rejected with ${describeError(error)}`,
      );
    }

    // Nothing settled after close took effect: every message comes back on a new connection.
    const taker = await new ConsumerProbe(await ctx.transport(), queue, ids.length, 'ack').start();
    try {
      await taker.waitForIds(ids, ctx.patienceMs);
    } catch {
      const missing = missingIds(ids, taker.seen).map((id) => `${id} (${settledWith.get(id)} after close)`);
      problems.push(
        `expected the ${ids.length} messages open at close to be delivered again on a new connection; missing: ${missing.join(', ')}`,
      );
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
  },
});
