import assert from 'node:assert/strict';
import { defineCase } from '../case.js';
import { expectRejection } from '../support/expect-error.js';
import { probeMessage } from '../support/probe-message.js';
import { sleep } from '../support/wait.js';

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
    assert.equal(
      health.ok,
      true,
      `expected health ok on a connected transport, got ok: false (${health.detail ?? 'no detail'})`,
    );
    assert.ok(health.latencyMs >= 0, `expected health latencyMs >= 0, got ${health.latencyMs}`);
    await transport.close();
    await transport.close();
    const patience = ctx.patienceMs;
    await expectRejection(
      () => transport.publish(queue, probeMessage('after-close')),
      'TRANSPORT_CLOSED',
      'publish after close',
      patience,
    );
    await expectRejection(
      () => transport.consume(queue, () => {}, { prefetch: 1 }),
      'TRANSPORT_CLOSED',
      'consume after close',
      patience,
    );
    await expectRejection(
      () => transport.queueDepth(queue),
      'TRANSPORT_CLOSED',
      'queueDepth after close',
      patience,
    );
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
    assert.equal(before.ready, 0, `expected ready 0 on a fresh queue, got ${before.ready}`);
    for (let i = 0; i < 7; i++) await transport.publish(queue, probeMessage(`${queue}-${i}`, i));
    const deadline = Date.now() + 10_000;
    let depth = await transport.queueDepth(queue);
    // Some brokers report depth approximately and late (SQS); wait for it to settle.
    while (depth.ready !== 7 && Date.now() < deadline) {
      await sleep(100);
      depth = await transport.queueDepth(queue);
    }
    assert.equal(depth.ready, 7, `expected ready 7 after 7 publishes (nobody consuming), got ${depth.ready}`);
  },
});
