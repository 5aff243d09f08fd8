import assert from 'node:assert/strict';
import type { PublishEntry } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { missingIds, probeIds, probeMessage } from '../support/probe-message.js';

/**
 * PUB-01: 10,000 messages from 4 producers reach 3 competing consumers; the set of ids consumed
 * equals the set published (duplicates are tolerated: delivery is at-least-once).
 */
export const everythingPublishedIsConsumed = defineCase({
  id: 'PUB-01',
  title: 'everything published is consumed (10,000 messages, 4 producers, 3 consumers)',
  verifies: ['publish', 'consume'],
  async run(ctx) {
    const total = ctx.scaled(10_000);
    const producers = 4;
    const queue = ctx.queue();
    const setup = await ctx.transport();
    await setup.declareQueue({ name: queue });
    const ids = probeIds(queue, total);
    const consumers = await Promise.all(
      [0, 1, 2].map(async () => new ConsumerProbe(await ctx.transport(), queue, 20, 'ack').start()),
    );
    const started = performance.now();
    const producerTransports = await Promise.all(Array.from({ length: producers }, () => ctx.transport()));
    await Promise.all(
      producerTransports.map(async (transport, p) => {
        const mine = ids.filter((_, i) => i % producers === p);
        for (let i = 0; i < mine.length; i += 100) {
          const batch: PublishEntry[] = mine
            .slice(i, i + 100)
            .map((id, j) => ({ message: probeMessage(id, i + j) }));
          await transport.publishBatch(queue, batch);
        }
      }),
    );
    const seen = new Set<string>();
    const union = (): Set<string> => {
      seen.clear();
      for (const c of consumers) for (const id of c.acked) seen.add(id);
      return seen;
    };
    const deadline = Date.now() + ctx.patienceMs * 4;
    while (union().size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const elapsed = performance.now() - started;
    const missing = missingIds(ids, union());
    assert.equal(
      missing.length,
      0,
      `${missing.length} of ${total} messages never consumed, e.g. ${missing.slice(0, 5)}`,
    );
    const deliveries = consumers.reduce((n, c) => n + c.deliveries.length, 0);
    ctx.metric('throughput', Math.round(total / (elapsed / 1000)), 'msg/s');
    ctx.metric('duplicates', deliveries - total, 'deliveries');
    const shares = consumers.map((c) => c.deliveries.length);
    assert.ok(
      shares.every((n) => n > 0),
      `expected each of the 3 competing consumers to get work, they got ${shares.join(', ')} deliveries`,
    );
  },
});

/** BAT-01: publishBatch stores every entry, with its own options. */
export const batchPublishDeliversEveryEntry = defineCase({
  id: 'BAT-01',
  title: 'publishBatch delivers every entry',
  verifies: ['batchPublish'],
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    const ids = probeIds(queue, 25);
    await transport.publishBatch(
      queue,
      ids.map((id, i) => ({ message: probeMessage(id, i) })),
    );
    const probe = await new ConsumerProbe(transport, queue, 10, 'ack').start();
    await probe.waitForIds(ids, ctx.patienceMs);
    const first = probe.deliveries[0]!;
    assert.ok(
      first.message,
      `expected a batch-published message to decode, got malformed: ${first.malformed?.message}`,
    );
    const contentType = first.message.properties.content_type;
    assert.equal(
      contentType,
      'application/json',
      `expected content_type "application/json" to survive publishBatch, got ${JSON.stringify(contentType)}`,
    );
    const task = first.message.headers.task;
    assert.equal(
      task,
      'conformance.probe',
      `expected header task "conformance.probe" to survive publishBatch, got ${JSON.stringify(task)}`,
    );
  },
});

/** ISO-01: queues are isolated: nothing published to one is delivered from another. */
export const queuesAreIsolated = defineCase({
  id: 'ISO-01',
  title: 'queues are isolated',
  verifies: ['consume'],
  async run(ctx) {
    const transport = await ctx.transport();
    const a = ctx.queue('a');
    const b = ctx.queue('b');
    await transport.declareQueue({ name: a });
    await transport.declareQueue({ name: b });
    const idsA = probeIds(a, 20);
    const idsB = probeIds(b, 20);
    for (const id of idsA) await transport.publish(a, probeMessage(id));
    for (const id of idsB) await transport.publish(b, probeMessage(id));
    const probeA = await new ConsumerProbe(transport, a, 10, 'ack').start();
    const probeB = await new ConsumerProbe(await ctx.transport(), b, 10, 'ack').start();
    await probeA.waitForIds(idsA, ctx.patienceMs);
    await probeB.waitForIds(idsB, ctx.patienceMs);
    for (const id of probeA.seen)
      assert.ok(id.startsWith(a), `queue ${a} delivered ${id}, published to another queue`);
    for (const id of probeB.seen)
      assert.ok(id.startsWith(b), `queue ${b} delivered ${id}, published to another queue`);
  },
});
