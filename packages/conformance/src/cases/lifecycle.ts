import assert from 'node:assert/strict';
import { ConveyorError } from '@conveyor/core';
import { defineCase } from '../case.js';
import { probeMessage } from '../support/probe-message.js';

/** LIF-01: connect and close are idempotent; every operation after close fails with TRANSPORT_CLOSED. */
export const connectAndCloseAreIdempotent = defineCase({
  id: 'LIF-01',
  title: 'connect and close are idempotent; operations after close reject with TransportClosedError',
  verifies: ['lifecycle'],
  async run(ctx) {
    const transport = await ctx.harness.createTransport({});
    await transport.connect();
    await transport.connect();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    await transport.declareQueue({ name: queue });
    const health = await transport.health();
    assert.equal(health.ok, true, `health check failed: ${health.detail ?? ''}`);
    assert.ok(health.latencyMs >= 0);
    await transport.close();
    await transport.close();
    const closedCode = (error: unknown): boolean =>
      error instanceof ConveyorError && error.code === 'TRANSPORT_CLOSED';
    await assert.rejects(
      () => transport.publish(queue, probeMessage('after-close')),
      closedCode,
      'publish after close',
    );
    await assert.rejects(
      () => transport.consume(queue, () => {}, { prefetch: 1 }),
      closedCode,
      'consume after close',
    );
    await assert.rejects(() => transport.queueDepth(queue), closedCode, 'queueDepth after close');
  },
});

/** LIF-02: queueDepth counts ready messages; health is a real round trip. */
export const queueDepthCountsReadyMessages = defineCase({
  id: 'LIF-02',
  title: 'queueDepth reports published messages as ready',
  verifies: ['queueDepth'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const before = await transport.queueDepth(queue);
    assert.equal(before.ready, 0, 'a fresh queue is empty');
    for (let i = 0; i < 7; i++) await transport.publish(queue, probeMessage(`${queue}-${i}`, i));
    const deadline = Date.now() + 10_000;
    let depth = await transport.queueDepth(queue);
    // Some brokers report depth approximately and late (SQS); wait for it to settle.
    while (depth.ready !== 7 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      depth = await transport.queueDepth(queue);
    }
    assert.equal(depth.ready, 7, 'ready count after 7 publishes');
  },
});
