import assert from 'node:assert/strict';
import type { BroadcastExchange, BroadcastMessage, WireMessage } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { sleep, waitUntil } from '../support/wait.js';
import { QUIET_WINDOW_MS } from './timeouts.js';

/**
 * BRD-01: `transport.broadcast` fans a message out to every matching subscription once, with its
 * headers, properties and body intact; a subscription whose binding key does not match gets
 * nothing, and one whose signal aborted gets nothing more (what Celery's events rely on).
 */
export const broadcastReachesEverySubscription = defineCase({
  id: 'BRD-01',
  title: 'broadcast reaches every matching subscription once, intact; an aborted one stops',
  verifies: ['broadcast'],
  requires: (caps) => (caps.broadcast ? undefined : 'capabilities.broadcast is false'),
  async run(ctx) {
    const transport = await ctx.transport();
    const broadcast = transport.broadcast;
    assert.ok(broadcast, 'capabilities.broadcast is true but transport.broadcast is missing');
    const exchange: BroadcastExchange = { name: `${ctx.queue()}.events`, kind: 'topic', durable: false };
    const kept: BroadcastMessage[] = [];
    const aborted: BroadcastMessage[] = [];
    const unmatched: BroadcastMessage[] = [];
    const keptSignal = new AbortController();
    const abortedSignal = new AbortController();
    const unmatchedSignal = new AbortController();
    try {
      await broadcast.subscribe(exchange, 'probe.#', (m) => kept.push(m), { signal: keptSignal.signal });
      await broadcast.subscribe(exchange, 'probe.#', (m) => aborted.push(m), {
        signal: abortedSignal.signal,
      });
      await broadcast.subscribe(exchange, 'other.*', (m) => unmatched.push(m), {
        signal: unmatchedSignal.signal,
      });
      const message: WireMessage = {
        headers: { hostname: 'probe@conformance', n: 1 },
        properties: { content_type: 'application/json', content_encoding: 'utf-8', delivery_mode: 1 },
        body: Buffer.from('{"type":"probe-one"}'),
      };
      await broadcast.publish(exchange, 'probe.one', message);
      await waitUntil(
        () => kept.length >= 1 && aborted.length >= 1,
        ctx.patienceMs,
        () => `the broadcast on both "probe.#" subscriptions (got ${kept.length} and ${aborted.length})`,
      );
      const [got] = kept;
      assert.equal(got!.routingKey, 'probe.one', 'routing key');
      assert.equal(Buffer.from(got!.message.body).toString('utf8'), '{"type":"probe-one"}', 'body');
      assert.deepEqual(got!.message.headers, message.headers, 'headers');
      assert.equal(got!.message.properties.content_type, 'application/json', 'content_type');
      assert.equal(got!.message.properties.content_encoding, 'utf-8', 'content_encoding');

      abortedSignal.abort();
      // Ending a subscription may take a broker round trip (AMQP closes a channel).
      await sleep(QUIET_WINDOW_MS);
      await broadcast.publish(exchange, 'probe.two', {
        ...message,
        body: Buffer.from('{"type":"probe-two"}'),
      });
      await waitUntil(
        () => kept.length >= 2,
        ctx.patienceMs,
        () => `the second broadcast on the kept subscription (got ${kept.length})`,
      );
      await sleep(QUIET_WINDOW_MS);
      assert.equal(
        kept.length,
        2,
        `expected each broadcast once on the kept subscription, got ${kept.length}`,
      );
      assert.equal(aborted.length, 1, `expected nothing after abort, got ${aborted.length - 1} more`);
      assert.equal(unmatched.length, 0, `"other.*" must not receive "probe.*", got ${unmatched.length}`);
    } finally {
      keptSignal.abort();
      abortedSignal.abort();
      unmatchedSignal.abort();
    }
  },
});
