import type { Delivery, WireMessage } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const queues: string[] = [];
const fresh = (label: string): string => {
  const queue = `acks-${label}-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue);
  return queue;
};
afterAll(() => rabbitHarness('cleanup').cleanup?.(queues));

function message(n: number): WireMessage {
  return {
    headers: { task: 'acks.test', id: `m-${n}` },
    properties: { content_type: 'application/json', content_encoding: 'utf-8' },
    body: Buffer.from(`[[${n}], {}, null]`),
  };
}

const idOf = (delivery: Delivery): string => String(delivery.message?.headers.id);

/** Consumes into an array; resolves `until` once `count` deliveries have arrived. */
function collect(transport: AmqpTransport, queue: string, prefetch: number) {
  const received: Delivery[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const abort = new AbortController();
  const started = transport.consume(
    queue,
    async (delivery) => {
      received.push(delivery);
      for (const w of waiters) if (received.length >= w.count) w.resolve();
    },
    { prefetch, signal: abort.signal },
  );
  return {
    received,
    started,
    abort,
    until: (count: number) =>
      new Promise<void>((resolve) => {
        if (received.length >= count) resolve();
        else waiters.push({ count, resolve });
      }),
  };
}

describe('acks coalesced per event-loop turn (basic.ack multiple)', () => {
  it('never acks a delivery still held: a multiple-ack stops at the first unsettled tag', async () => {
    const queue = fresh('held');
    const transport = new AmqpTransport(RABBIT_URL);
    await transport.declareQueue({ name: queue });
    await transport.publishBatch(
      queue,
      Array.from({ length: 6 }, (_, i) => ({ message: message(i) })),
    );
    const consumer = collect(transport, queue, 10);
    await consumer.started;
    await consumer.until(6);
    // Hold m-2; ack every other one in the same turn, so the only contiguous run is m-0..m-1.
    const held = consumer.received.find((d) => idOf(d) === 'm-2');
    expect(held).toBeDefined();
    await Promise.all(consumer.received.filter((d) => d !== held).map((d) => d.ack()));
    await transport.close(); // the held one goes back to the queue; the acked ones must not

    const second = new AmqpTransport(RABBIT_URL);
    const again = collect(second, queue, 10);
    await again.started;
    await again.until(1);
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a wrong redelivery to show
    expect(again.received.map(idOf)).toEqual(['m-2']);
    await again.received[0]?.ack();
    await second.close();
  });

  it('frees the prefetch credit of deliveries finished behind a long-running head', async () => {
    const queue = fresh('credit');
    const transport = new AmqpTransport(RABBIT_URL);
    await transport.declareQueue({ name: queue });
    await transport.publishBatch(
      queue,
      Array.from({ length: 8 }, (_, i) => ({ message: message(i) })),
    );
    // Prefetch 2: the head is never settled, so the other 7 can only arrive one by one, each after
    // the ack of the one before it reached the broker on its own (not as a multiple-ack).
    const received: Delivery[] = [];
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      resolveAll = resolve;
    });
    await transport.consume(
      queue,
      async (delivery) => {
        received.push(delivery);
        if (received.length > 1) await delivery.ack();
        if (received.length === 8) resolveAll();
      },
      { prefetch: 2 },
    );
    await all;
    expect(received.map(idOf)).toEqual(Array.from({ length: 8 }, (_, i) => `m-${i}`));
    await expect.poll(() => transport.queueDepth(queue).then((d) => d.ready)).toBe(0);
    await received[0]?.ack();
    await transport.close();
  });

  it('writes the acks of the current turn before the transport closes', async () => {
    const queue = fresh('close');
    const transport = new AmqpTransport(RABBIT_URL);
    await transport.declareQueue({ name: queue });
    await transport.publishBatch(
      queue,
      Array.from({ length: 50 }, (_, i) => ({ message: message(i) })),
    );
    const consumer = collect(transport, queue, 50);
    await consumer.started;
    await consumer.until(50);
    // Same turn: ack all, then close at once. A lost flush would put all 50 back in the queue.
    const acked = Promise.all(consumer.received.map((d) => d.ack()));
    const closed = transport.close();
    await Promise.all([acked, closed]);

    const probe = new AmqpTransport(RABBIT_URL);
    await expect.poll(() => probe.queueDepth(queue).then((d) => d.ready)).toBe(0);
    const again = collect(probe, queue, 10);
    await again.started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(again.received).toHaveLength(0);
    await probe.close();
  });

  it('requeues a nacked delivery even when acks around it are coalesced', async () => {
    const queue = fresh('nack');
    const transport = new AmqpTransport(RABBIT_URL);
    await transport.declareQueue({ name: queue });
    await transport.publishBatch(
      queue,
      Array.from({ length: 5 }, (_, i) => ({ message: message(i) })),
    );
    const consumer = collect(transport, queue, 10);
    await consumer.started;
    await consumer.until(5);
    const first = consumer.received.slice(0, 5);
    // One turn: ack m-0, m-1, nack m-2, ack m-3, m-4. The multiple-ack after m-4 must not swallow m-2.
    await Promise.all(first.map((d) => (idOf(d) === 'm-2' ? d.nack() : d.ack())));
    await consumer.until(6);
    expect(idOf(consumer.received[5] as Delivery)).toBe('m-2');
    expect(consumer.received[5]?.deliveryCount).toBeGreaterThan(1);
    await consumer.received[5]?.ack();
    await expect.poll(() => transport.queueDepth(queue).then((d) => d.ready)).toBe(0);
    await transport.close();
  });
});
