import type { Transport, TransportCapabilities } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { expectRejection } from '../support/expect-error.js';
import { probeMessage } from '../support/probe-message.js';

type Probe = {
  feature: string;
  unclaimed: (caps: TransportCapabilities) => boolean;
  use: (t: Transport, q: string) => Promise<unknown>;
};

const PUBLISH_PROBES: Probe[] = [
  {
    feature: 'priority',
    unclaimed: (c) => c.priorityLevels === 0,
    use: (t, q) => t.publish(q, probeMessage(`${q}-prio`), { priority: 1 }),
  },
  {
    feature: 'delay',
    unclaimed: (c) => c.delay.mode === 'none',
    use: (t, q) => t.publish(q, probeMessage(`${q}-delay`), { delayMs: 1000 }),
  },
  {
    feature: 'delay beyond maxDelayMs',
    unclaimed: (c) => c.delay.mode !== 'none' && c.delay.maxDelayMs !== null,
    use: (t, q) =>
      t.publish(q, probeMessage(`${q}-far`), { delayMs: (t.capabilities.delay.maxDelayMs ?? 0) + 1000 }),
  },
  {
    feature: 'deduplication',
    unclaimed: (c) => !c.deduplication,
    use: (t, q) => t.publish(q, probeMessage(`${q}-dedupe`), { deduplicationId: 'x' }),
  },
  {
    feature: 'ordering key',
    unclaimed: (c) => c.ordering === 'none',
    use: (t, q) => t.publish(q, probeMessage(`${q}-key`), { orderingKey: 'k' }),
  },
];

/**
 * UNS-01: every feature the manifest does not claim throws UnsupportedFeatureError when used,
 * instead of being ignored. Skipped when the transport claims every optional feature.
 */
export const unclaimedFeaturesThrow = defineCase({
  id: 'UNS-01',
  title: 'using a feature the manifest does not claim throws UnsupportedFeatureError',
  verifies: ['manifest'],
  requires(caps) {
    const unclaimed =
      PUBLISH_PROBES.some((p) => p.unclaimed(caps)) || !caps.deadLetter || !caps.visibilityExtension;
    return unclaimed ? undefined : 'the transport claims every optional feature';
  },
  async run(ctx) {
    const transport = await ctx.transport();
    const caps = transport.capabilities;
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    for (const probe of PUBLISH_PROBES) {
      if (!probe.unclaimed(caps)) continue;
      await expectRejection(
        () => probe.use(transport, queue),
        'UNSUPPORTED_FEATURE',
        `publish with ${probe.feature}, which the capabilities do not claim`,
        ctx.patienceMs,
      );
    }
    if (caps.deadLetter && caps.visibilityExtension) return;
    await transport.publish(queue, probeMessage(`${queue}-settle`));
    const holder = await new ConsumerProbe(transport, queue, 1, 'hold').start();
    await holder.waitForCount(1, ctx.patienceMs);
    const delivery = holder.deliveries[0]!;
    if (!caps.visibilityExtension) {
      await expectRejection(
        () => delivery.extendVisibility(60_000),
        'UNSUPPORTED_FEATURE',
        'extendVisibility(60000) where visibilityExtension is not claimed',
        ctx.patienceMs,
      );
    }
    if (!caps.deadLetter) {
      await expectRejection(
        () => delivery.reject('nowhere to go'),
        'UNSUPPORTED_FEATURE',
        'reject() where deadLetter is not claimed',
        ctx.patienceMs,
      );
    }
    await delivery.ack();
  },
});
