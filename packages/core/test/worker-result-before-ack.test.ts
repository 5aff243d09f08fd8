import { afterEach, describe, expect, it } from 'vitest';
import {
  Client,
  type Delivery,
  defineTask,
  MemoryResultBackend,
  MemoryTransport,
  type ResultMeta,
  type Task,
  Worker,
} from '../src/index.js';
import { eventually, uniqueBroker } from './helpers.js';
import { SettleInterceptingTransport, type SettleKind } from './settle-intercepting-transport.js';

/**
 * One timeline of what reached the broker and the result backend, in the order it happened. A
 * store is written when it completes, so an ack that did not wait for it shows up before it.
 */
type Timeline = string[];

/** A result backend whose writes take a while: an ack that does not wait for them overtakes them. */
class SlowResultBackend extends MemoryResultBackend {
  constructor(readonly timeline: Timeline) {
    super();
  }

  override async store(meta: ResultMeta): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 30));
    await super.store(meta);
    this.timeline.push(`stored ${meta.status}`);
  }
}

/** The memory transport, with each delivery's settlement written to the timeline as it happens. */
class ObservedTransport extends SettleInterceptingTransport {
  constructor(
    inner: MemoryTransport,
    readonly timeline: Timeline,
  ) {
    super(inner);
  }

  protected override async settle(
    kind: SettleKind,
    delivery: Delivery,
    apply: () => Promise<void>,
  ): Promise<void> {
    this.timeline.push(`${kind} ${String(delivery.message?.headers.id ?? '?')}`);
    await apply();
  }
}

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function observedWorker(tasks: Task[]) {
  const timeline: Timeline = [];
  const inner = new MemoryTransport({ broker: uniqueBroker('store-then-ack') });
  const transport = new ObservedTransport(inner, timeline);
  const results = new SlowResultBackend(timeline);
  const worker = new Worker({
    transport,
    tasks,
    results,
    retry: { initialDelayMs: 10, factor: 1, maxDelayMs: 10, jitter: 'none' },
  });
  const client = new Client({ transport: inner, results: new MemoryResultBackend() });
  cleanups.push(async () => {
    await worker.stop({ deadlineMs: 0 });
    await inner.close();
  });
  await worker.start();
  return { timeline, client, results };
}

describe('Worker: the result is stored before the message is settled', () => {
  it('stores SUCCESS, then acks', async () => {
    const ok = defineTask({ name: 'tasks.ok', handler: () => 'done' });
    const h = await observedWorker([ok]);
    await h.client.send(ok, [], { taskId: 'ok-1' });
    await eventually(() => expect(h.timeline).toContain('ack ok-1'));
    expect(h.timeline).toEqual(['stored SUCCESS', 'ack ok-1']);
    expect((await h.results.get('ok-1'))?.result).toBe('done');
  });

  it('stores RETRY before it acks the attempt, and FAILURE before it dead-letters the last one', async () => {
    const flaky = defineTask({
      name: 'tasks.flaky',
      retry: { maxRetries: 1 },
      handler: () => {
        throw new Error('boom');
      },
    });
    const h = await observedWorker([flaky]);
    await h.client.send(flaky, [], { taskId: 'flaky-1' });
    await eventually(() => expect(h.timeline).toContain('reject flaky-1'));
    expect(h.timeline).toEqual(['stored RETRY', 'ack flaky-1', 'stored FAILURE', 'reject flaky-1']);
  });

  it('stores REVOKED before it acks an expired task', async () => {
    const never = defineTask({ name: 'tasks.never', handler: () => 'ran' });
    const h = await observedWorker([never]);
    await h.client.send(never, [], { taskId: 'late-1', expires: new Date(Date.now() - 60_000) });
    await eventually(() => expect(h.timeline).toContain('ack late-1'));
    expect(h.timeline).toEqual(['stored REVOKED', 'ack late-1']);
  });
});
