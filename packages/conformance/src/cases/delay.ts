import assert from 'node:assert/strict';
import type { TransportCapabilities } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { probeIds, probeMessage } from '../support/probe-message.js';

/** Clock slack allowed before a due time: brokers and hosts round timestamps. */
const EARLY_SLACK_MS = 25;

function delayFor(caps: TransportCapabilities): number {
  const wanted = Math.max(400, caps.delay.precisionMs * 2);
  return caps.delay.maxDelayMs === null ? wanted : Math.min(wanted, caps.delay.maxDelayMs);
}

/** A delay is grossly late past this: what a timer or poll loop can never excuse. */
function grossLateness(caps: TransportCapabilities): number {
  return Math.max(5000, caps.delay.precisionMs * 10);
}

const NO_DELAY = 'capabilities.delay.mode is "none"';

/**
 * DEL-01: a delayed message is never delivered before its delay, and not grossly after it. The
 * lateness is reported, not judged (these machines are shared and noisy).
 */
export const delayedMessagesWaitTheirDelay = defineCase({
  id: 'DEL-01',
  title: 'delayed publish: never early, not grossly late (lateness reported)',
  verifies: ['delay'],
  requires: (caps) => (caps.delay.mode === 'none' ? NO_DELAY : undefined),
  async run(ctx) {
    const transport = await ctx.transport();
    const caps = transport.capabilities;
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const delayMs = delayFor(caps);
    const [delayed, immediate] = probeIds(queue, 2) as [string, string];
    const arrivals = new Map<string, number>();
    const probe = await new ConsumerProbe(transport, queue, 5, (delivery, p) => {
      arrivals.set(String(delivery.message?.headers.id), Date.now());
      p.ackInBackground(delivery);
    }).start();
    const sentAt = Date.now();
    await transport.publish(queue, probeMessage(delayed), { delayMs });
    await transport.publish(queue, probeMessage(immediate));
    await probe.waitForIds([immediate, delayed], ctx.patienceMs + delayMs);
    const waited = arrivals.get(delayed)! - sentAt;
    ctx.metric('delay-requested', delayMs, 'ms');
    ctx.metric('delay-lateness', waited - delayMs, 'ms');
    assert.ok(
      waited >= delayMs - EARLY_SLACK_MS,
      `expected delivery no earlier than the ${delayMs} ms delay, got it after ${waited} ms`,
    );
    assert.ok(
      waited <= delayMs + grossLateness(caps),
      `expected delivery within ${grossLateness(caps)} ms of the ${delayMs} ms delay, got it ${waited - delayMs} ms late`,
    );
    const behind = arrivals.get(immediate)! - arrivals.get(delayed)!;
    assert.ok(
      behind <= 0,
      `expected the undelayed message before the delayed one, it arrived ${behind} ms after it`,
    );
  },
});

/** DEL-02: nack with a delay redelivers no earlier than that delay. */
export const nackWithDelayWaits = defineCase({
  id: 'DEL-02',
  title: 'nack with delayMs redelivers no earlier than the delay',
  verifies: ['delay', 'nack'],
  requires: (caps) => (caps.delay.mode === 'none' ? NO_DELAY : undefined),
  async run(ctx) {
    const transport = await ctx.transport();
    const caps = transport.capabilities;
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const delayMs = delayFor(caps);
    const id = `${queue}-later`;
    await transport.publish(queue, probeMessage(id));
    const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const nackedAt = Date.now();
    await probe.nack(probe.deliveries[0]!, delayMs);
    await probe.waitForCount(2, ctx.patienceMs + delayMs);
    const waited = Date.now() - nackedAt;
    ctx.metric('nack-delay-lateness', waited - delayMs, 'ms');
    assert.ok(
      waited >= delayMs - EARLY_SLACK_MS,
      `expected redelivery no earlier than the nack's ${delayMs} ms delay, got it after ${waited} ms`,
    );
    assert.ok(
      waited <= delayMs + grossLateness(caps),
      `expected redelivery within ${grossLateness(caps)} ms of the nack's ${delayMs} ms delay, got it ${waited - delayMs} ms late`,
    );
    await probe.ack(probe.deliveries[1]!);
  },
});
