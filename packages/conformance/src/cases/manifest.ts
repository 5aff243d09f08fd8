import assert from 'node:assert/strict';
import { defineCapabilities } from '@conveyor/core/transport';
import { defineCase } from '../case.js';

/** MAN-01: the manifest is complete, well-typed, frozen, and does not change across connect/close. */
export const manifestIsCompleteAndStable = defineCase({
  id: 'MAN-01',
  title: 'capabilities manifest is complete, frozen and stable across connect/close',
  verifies: ['manifest'],
  async run(ctx) {
    const transport = await ctx.harness.createTransport({});
    const before = JSON.stringify(transport.capabilities);
    const caps = transport.capabilities;
    const reference = defineCapabilities();
    const keys = Object.keys(caps).sort();
    const known = Object.keys(reference).sort();
    assert.deepEqual(
      keys,
      known,
      `expected exactly the keys of defineCapabilities() (${known.join(', ')}), got ${keys.join(', ')}: build the manifest with defineCapabilities`,
    );
    assert.ok(Object.isFrozen(caps), 'expected capabilities to be frozen (defineCapabilities freezes them)');
    const shown = (value: unknown): string => JSON.stringify(value);
    assert.ok(
      ['native', 'emulated', 'none'].includes(caps.delay.mode),
      `expected delay.mode "native", "emulated" or "none", got ${shown(caps.delay.mode)}`,
    );
    assert.ok(
      caps.delay.maxDelayMs === null || caps.delay.maxDelayMs > 0,
      `expected delay.maxDelayMs null (unbounded) or > 0, got ${shown(caps.delay.maxDelayMs)}`,
    );
    assert.ok(
      Number.isInteger(caps.priorityLevels) && caps.priorityLevels >= 0 && caps.priorityLevels !== 1,
      `expected priorityLevels 0 (none) or an integer >= 2, got ${shown(caps.priorityLevels)}`,
    );
    assert.ok(
      ['none', 'queue', 'key'].includes(caps.ordering),
      `expected ordering "none", "queue" or "key", got ${shown(caps.ordering)}`,
    );
    assert.ok(
      Number.isInteger(caps.maxMessageBytes) && caps.maxMessageBytes > 0,
      `expected maxMessageBytes a positive integer, got ${shown(caps.maxMessageBytes)}`,
    );
    assert.ok(
      ['immediate', 'visibility-timeout', 'rebalance'].includes(caps.redelivery.trigger),
      `expected redelivery.trigger "immediate", "visibility-timeout" or "rebalance", got ${shown(caps.redelivery.trigger)}`,
    );
    if (caps.visibilityExtension) {
      assert.notEqual(
        caps.redelivery.visibilityTimeoutMs,
        null,
        'visibilityExtension is claimed but redelivery.visibilityTimeoutMs is null: there is no deadline to extend',
      );
    }
    await transport.connect();
    const afterConnect = JSON.stringify(transport.capabilities);
    assert.equal(afterConnect, before, `manifest changed after connect: ${before} became ${afterConnect}`);
    await transport.close();
    const afterClose = JSON.stringify(transport.capabilities);
    assert.equal(afterClose, before, `manifest changed after close: ${before} became ${afterClose}`);
  },
});
