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
    assert.deepEqual(
      Object.keys(caps).sort(),
      Object.keys(reference).sort(),
      'manifest has exactly the known keys',
    );
    assert.ok(Object.isFrozen(caps), 'capabilities must be frozen');
    assert.ok(['native', 'emulated', 'none'].includes(caps.delay.mode), 'delay.mode');
    assert.ok(caps.delay.maxDelayMs === null || caps.delay.maxDelayMs > 0, 'delay.maxDelayMs is null or > 0');
    assert.ok(
      Number.isInteger(caps.priorityLevels) && caps.priorityLevels >= 0 && caps.priorityLevels !== 1,
      'priorityLevels is 0 (none) or >= 2',
    );
    assert.ok(['none', 'queue', 'key'].includes(caps.ordering), 'ordering');
    assert.ok(Number.isInteger(caps.maxMessageBytes) && caps.maxMessageBytes > 0, 'maxMessageBytes');
    assert.ok(
      ['immediate', 'visibility-timeout', 'rebalance'].includes(caps.redelivery.trigger),
      'redelivery.trigger',
    );
    if (caps.visibilityExtension) {
      assert.notEqual(
        caps.redelivery.visibilityTimeoutMs,
        null,
        'visibilityExtension needs a visibility timeout',
      );
    }
    await transport.connect();
    assert.equal(JSON.stringify(transport.capabilities), before, 'manifest changed after connect');
    await transport.close();
    assert.equal(JSON.stringify(transport.capabilities), before, 'manifest changed after close');
  },
});
