import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ConsumeOptions,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  DEAD_LETTERED_AT_HEADER,
  type Delivery,
  type DeliveryHandler,
  findDeadLetter,
  InvalidOptionError,
  listDeadLetters,
  MemoryTransport,
  type MemoryTransportOptions,
  type PublishOptions,
  parseDeadLetterFilter,
  purgeDeadLetters,
  RAW_CONTENT_TYPE,
  redriveDeadLetters,
  TransportClosedError,
  type WireMessage,
} from '../src/index.js';
import { encodeTaskMessage } from '../src/transport-authors.js';
import { collect, eventually, pause, uniqueBroker } from './helpers.js';

const Q = 'jobs';
const DLQ = `${Q}.dlq`;
const FAST = { idleMs: 200, firstLetterWaitMs: 2000 } as const;
const opened: MemoryTransport[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

/**
 * A MemoryTransport whose publish to `failing` rejects, and which records each publish and each
 * ack of a dead letter in order.
 */
class FlakyTransport extends MemoryTransport {
  failing: string | null = null;
  /** Each publish takes this long (a slow broker). */
  publishDelayMs = 0;
  readonly events: string[] = [];

  override async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    if (queue === this.failing) throw new TransportClosedError(`publish to "${queue}" (test)`);
    if (this.publishDelayMs > 0) await pause(this.publishDelayMs);
    await super.publish(queue, message, options);
    this.events.push(`published ${String(message.headers.id)}`);
  }

  override consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    const events = this.events;
    return super.consume(
      queue,
      (delivery) =>
        handler({
          queue: delivery.queue,
          message: delivery.message,
          malformed: delivery.malformed,
          deliveryCount: delivery.deliveryCount,
          orderingKey: delivery.orderingKey,
          rawPayload: () => delivery.rawPayload?.() ?? null,
          ack: async () => {
            await delivery.ack();
            events.push(`acked ${String(delivery.message?.headers.id)}`);
          },
          nack: (options) => delivery.nack(options),
          reject: (reason) => delivery.reject(reason),
          extendVisibility: (ms) => delivery.extendVisibility(ms),
        }),
      options,
    );
  }
}

async function open(options: MemoryTransportOptions = {}): Promise<FlakyTransport> {
  const transport = new FlakyTransport({ broker: uniqueBroker('dead-letters'), ...options });
  opened.push(transport);
  await transport.connect();
  await transport.declareQueue({ name: Q });
  return transport;
}

interface Doomed {
  id: string;
  task: string;
  reason: string;
  /** Deliveries before the reject (default 1). */
  deliveries?: number;
}

/** Publishes each task to Q and dead-letters it from a real delivery, with its reason. */
async function deadLetter(transport: MemoryTransport, doomed: readonly Doomed[]): Promise<void> {
  for (const d of doomed)
    await transport.publish(Q, encodeTaskMessage({ id: d.id, task: d.task, args: [1] }));
  const stop = new AbortController();
  let rejected = 0;
  await transport.consume(
    Q,
    async (delivery) => {
      const d = doomed.find((x) => x.id === delivery.message?.headers.id);
      if (!d) throw new Error('unexpected message');
      if (delivery.deliveryCount < (d.deliveries ?? 1)) return delivery.nack();
      await delivery.reject(d.reason);
      rejected++;
    },
    { prefetch: 10, signal: stop.signal },
  );
  await eventually(() => expect(rejected).toBe(doomed.length));
  stop.abort();
}

/** Writes undecodable bytes as a dead letter, as a transport does for garbage. */
async function deadLetterGarbage(transport: MemoryTransport, bytes: Uint8Array): Promise<void> {
  await transport.publish(DLQ, {
    headers: { [DEAD_LETTER_REASON_HEADER]: 'malformed: not JSON', [DEAD_LETTER_SOURCE_HEADER]: Q },
    properties: { content_type: RAW_CONTENT_TYPE, content_encoding: 'binary' },
    body: bytes,
  });
}

const ids = (n: number): string[] => Array.from({ length: n }, () => randomUUID());

describe('dead letters: list and show', () => {
  it('lists every letter with its task, reason, source and time, and leaves them all in place', async () => {
    const t = await open();
    const [a, b] = ids(2) as [string, string];
    const before = Date.now();
    await deadLetter(t, [
      { id: a, task: 'emails.send', reason: 'TimeoutError: smtp' },
      { id: b, task: 'reports.build', reason: 'ValueError: bad month' },
    ]);
    const listing = await listDeadLetters(t, { queue: Q, ...FAST });
    expect(listing).toMatchObject({ deadLetterQueue: DLQ, waiting: 2, seen: 2 });
    expect(listing.letters.map((l) => [l.key, l.task, l.reason, l.sourceQueue, l.kind])).toEqual([
      [a, 'emails.send', 'TimeoutError: smtp', Q, 'task'],
      [b, 'reports.build', 'ValueError: bad month', Q, 'task'],
    ]);
    for (const letter of listing.letters) {
      expect(letter.deadLetteredAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(letter.deadLetteredAt!.getTime()).toBeLessThanOrEqual(Date.now());
    }
    expect((await t.queueDepth(DLQ)).ready).toBe(2);
    // A second look sees the same letters: browsing gave them back.
    const again = await listDeadLetters(t, { queue: Q, ...FAST });
    expect(again.letters.map((l) => l.key)).toEqual([a, b]);
    // ...and counts as a delivery of each.
    expect(again.letters.map((l) => l.deliveryCount)).toEqual([2, 2]);
  });

  it('stops at --limit and says how many were waiting', async () => {
    const t = await open();
    await deadLetter(
      t,
      ids(5).map((id) => ({ id, task: 't', reason: 'r' })),
    );
    const listing = await listDeadLetters(t, { queue: Q, limit: 2, ...FAST });
    expect([listing.waiting, listing.seen, listing.letters.length]).toEqual([5, 2, 2]);
    expect((await t.queueDepth(DLQ)).ready).toBe(5);
  });

  it('holds at most maxHeld letters: a redrive still moves every match, giving back the others as it goes', async () => {
    const t = await open();
    const all = ids(6);
    await deadLetter(
      t,
      all.map((id, n) => ({ id, task: n % 3 === 0 ? 'keep' : 'move', reason: 'r' })),
    );
    const report = await redriveDeadLetters(t, {
      queue: Q,
      maxHeld: 3,
      filter: parseDeadLetterFilter(['task=move']),
      ...FAST,
    });
    expect(report).toMatchObject({ seen: 6, moved: 4, unmatched: 2 });
    // A listing holds every letter it reads: it stops when its slots are full, and says so.
    const listing = await listDeadLetters(t, { queue: Q, maxHeld: 1, ...FAST });
    expect([listing.waiting, listing.seen]).toEqual([2, 1]);
    expect((await t.queueDepth(DLQ)).ready).toBe(2);
  });

  it('returns at once on an empty dead-letter queue', async () => {
    const t = await open();
    const listing = await listDeadLetters(t, { queue: Q, idleMs: 60_000, firstLetterWaitMs: 60_000 });
    expect(listing).toMatchObject({ waiting: 0, seen: 0, letters: [] });
  });

  it('shows a letter by task id, and a raw letter by the fingerprint list printed', async () => {
    const t = await open();
    const [a] = ids(1) as [string];
    await deadLetter(t, [{ id: a, task: 'emails.send', reason: 'boom' }]);
    const garbage = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
    await deadLetterGarbage(t, garbage);
    const listing = await listDeadLetters(t, { queue: Q, ...FAST });
    const raw = listing.letters.find((l) => l.kind === 'raw')!;
    expect(raw.key).toMatch(/^raw:[0-9a-f]{12}$/);
    // Stable: the same bytes give the same key on the next pass.
    expect((await listDeadLetters(t, { queue: Q, ...FAST })).letters.find((l) => l.kind === 'raw')!.key).toBe(
      raw.key,
    );

    const shown = await findDeadLetter(t, { queue: Q, key: raw.key, ...FAST });
    expect([...shown!.message!.body]).toEqual([...garbage]);
    const task = await findDeadLetter(t, { queue: Q, key: a, ...FAST });
    expect(task?.message?.headers.id).toBe(a);
    expect(await findDeadLetter(t, { queue: Q, key: 'no-such-letter', ...FAST })).toBeNull();
    expect((await t.queueDepth(DLQ)).ready).toBe(2);
  });
});

describe('dead letters: filters', () => {
  it('parses task=, reason= and since= and names --filter when wrong', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(parseDeadLetterFilter(['task=emails.*', 'reason=Timeout', 'since=2h'], 'filter', now)).toEqual({
      task: 'emails.*',
      reason: 'Timeout',
      since: new Date('2026-12-01T10:00:00Z'),
    });
    expect(parseDeadLetterFilter(['since=2026-11-30T00:00:00Z']).since).toEqual(
      new Date('2026-11-30T00:00:00Z'),
    );
    for (const bad of ['task', 'colour=red', 'since=yesterday', 'reason=']) {
      expect(() => parseDeadLetterFilter([bad])).toThrow(InvalidOptionError);
      expect(() => parseDeadLetterFilter([bad])).toThrow(/"filter"/);
    }
  });

  it('lists only matching letters; a letter without a time never matches since=', async () => {
    const t = await open();
    const [a, b, c] = ids(3) as [string, string, string];
    await deadLetter(t, [
      { id: a, task: 'emails.send', reason: 'TimeoutError: smtp' },
      { id: b, task: 'emails.digest', reason: 'ValueError' },
      { id: c, task: 'reports.build', reason: 'TimeoutError: db' },
    ]);
    // As an SQS redrive policy or a quorum queue's delivery limit leaves it: no reason, no time.
    await t.publish(DLQ, encodeTaskMessage({ id: randomUUID(), task: 'emails.old', args: [] }));
    const keys = async (filter: string[]): Promise<string[]> =>
      (await listDeadLetters(t, { queue: Q, filter: parseDeadLetterFilter(filter), ...FAST })).letters.map(
        (l) => l.taskId ?? '',
      );
    expect(await keys(['task=emails.*', 'since=1h'])).toEqual([a, b]);
    expect(await keys(['reason=timeouterror'])).toEqual([a, c]);
    expect(await keys(['task=emails.send'])).toEqual([a]);
    expect(await keys(['since=2999-01-01T00:00:00Z'])).toEqual([]);
    expect((await keys(['task=emails.*'])).length).toBe(3);
  });
});

describe('dead letters: redrive', () => {
  it('moves only matching letters back to their source queue: same id and headers, no dead-letter headers, delivery count 1', async () => {
    const t = await open();
    const [a, b, c] = ids(3) as [string, string, string];
    await deadLetter(t, [
      { id: a, task: 'emails.send', reason: 'boom', deliveries: 3 },
      { id: b, task: 'reports.build', reason: 'boom' },
      { id: c, task: 'emails.send', reason: 'boom' },
    ]);
    const report = await redriveDeadLetters(t, {
      queue: Q,
      filter: parseDeadLetterFilter(['task=emails.send']),
      ...FAST,
    });
    expect(report).toMatchObject({ seen: 3, moved: 2, skipped: 0, failed: 0, unmatched: 1, wouldMove: 0 });
    expect(report.outcomes.map((o) => [o.key, o.outcome, o.to])).toEqual([
      [a, 'moved', Q],
      [c, 'moved', Q],
    ]);
    expect((await t.queueDepth(DLQ)).ready).toBe(1);
    expect((await listDeadLetters(t, { queue: Q, ...FAST })).letters.map((l) => l.taskId)).toEqual([b]);

    const back = await collect(t, Q);
    await eventually(() => expect(back).toHaveLength(2));
    const byId = new Map(back.map((d) => [d.message?.headers.id, d] as const));
    const copy = byId.get(a)!;
    // The original had three deliveries before it was dead-lettered: the copy starts over.
    expect(copy.deliveryCount).toBe(1);
    expect(copy.message?.headers.task).toBe('emails.send');
    expect(Object.keys(copy.message!.headers).filter((h) => h.startsWith('x-conveyor'))).toEqual([]);
    expect(copy.message?.headers[DEAD_LETTERED_AT_HEADER]).toBeUndefined();
    const original = encodeTaskMessage({ id: a, task: 'emails.send', args: [1] });
    expect(Buffer.from(copy.message!.body).toString()).toBe(Buffer.from(original.body).toString());
  });

  it('a dry run moves nothing and says what would move where', async () => {
    const t = await open();
    const [a, b] = ids(2) as [string, string];
    await deadLetter(t, [
      { id: a, task: 'x', reason: 'boom' },
      { id: b, task: 'y', reason: 'boom' },
    ]);
    const report = await redriveDeadLetters(t, { queue: Q, dryRun: true, to: 'elsewhere', ...FAST });
    expect(report).toMatchObject({ dryRun: true, moved: 0, wouldMove: 2, seen: 2 });
    expect(report.outcomes.map((o) => [o.key, o.outcome, o.to])).toEqual([
      [a, 'would-move', 'elsewhere'],
      [b, 'would-move', 'elsewhere'],
    ]);
    expect((await t.queueDepth(DLQ)).ready).toBe(2);
    expect((await t.queueDepth(Q)).ready).toBe(0);
  });

  it('is at least once: a copy that cannot be published leaves its letter in place, counted as failed', async () => {
    const t = await open();
    const [a, b] = ids(2) as [string, string];
    await deadLetter(t, [
      { id: a, task: 'x', reason: 'boom' },
      { id: b, task: 'x', reason: 'boom' },
    ]);
    t.failing = 'broken';
    const failed = await redriveDeadLetters(t, { queue: Q, to: 'broken', ...FAST });
    expect(failed).toMatchObject({ moved: 0, failed: 2, seen: 2 });
    expect(failed.outcomes[0]?.detail).toMatch(/^not copied: TransportClosedError/);
    expect((await t.queueDepth(DLQ)).ready).toBe(2);

    // Each ack follows its confirmed publish.
    t.events.length = 0;
    const moved = await redriveDeadLetters(t, { queue: Q, concurrency: 1, ...FAST });
    expect(moved).toMatchObject({ moved: 2, failed: 0 });
    expect(t.events).toEqual([`published ${a}`, `acked ${a}`, `published ${b}`, `acked ${b}`]);
    expect((await t.queueDepth(DLQ)).ready).toBe(0);
    expect((await t.queueDepth(Q)).ready).toBe(2);
  });

  it('leaves raw letters in place unless asked, and then moves their bytes unchanged', async () => {
    const t = await open();
    const garbage = new Uint8Array([0x80, 0x81, 0x82]);
    await deadLetterGarbage(t, garbage);
    const skipped = await redriveDeadLetters(t, { queue: Q, ...FAST });
    expect(skipped).toMatchObject({ moved: 0, skipped: 1 });
    expect(skipped.outcomes[0]?.detail).toMatch(/raw letter/);
    expect((await t.queueDepth(DLQ)).ready).toBe(1);

    const moved = await redriveDeadLetters(t, { queue: Q, includeRaw: true, ...FAST });
    expect(moved).toMatchObject({ moved: 1, skipped: 0 });
    const back = await collect(t, Q);
    await eventually(() => expect(back).toHaveLength(1));
    expect([...(back[0] as Delivery).message!.body]).toEqual([...garbage]);
    expect((back[0] as Delivery).message?.headers).toEqual({});
  });

  it('keeps the leases of the letters it holds: a pass longer than the visibility timeout sees each letter once', async () => {
    const t = await open({ visibilityTimeoutMs: 300 });
    const [a, b, c] = ids(3) as [string, string, string];
    await deadLetter(t, [
      { id: a, task: 'keep', reason: 'boom' },
      { id: b, task: 'move', reason: 'boom' },
      { id: c, task: 'move', reason: 'boom' },
    ]);
    t.publishDelayMs = 400;
    const errors: unknown[] = [];
    const report = await redriveDeadLetters(t, {
      queue: Q,
      concurrency: 1,
      filter: parseDeadLetterFilter(['task=move']),
      onError: (error) => errors.push(error),
      ...FAST,
    });
    // Held for over 800 ms with a 300 ms timeout: without the extension the kept letter would come
    // back as a second delivery, be counted again, and its give-back would fail (lease lost).
    expect(report).toMatchObject({ seen: 3, moved: 2, unmatched: 1, failed: 0 });
    expect(errors).toEqual([]);
    const left = await listDeadLetters(t, { queue: Q, ...FAST });
    expect(left.letters.map((l) => l.taskId)).toEqual([a]);
    expect(left.letters[0]?.deliveryCount).toBe(2);
  });

  it('never copies a letter into the dead-letter queue it is reading', async () => {
    const t = await open();
    const [a] = ids(1) as [string];
    await deadLetter(t, [{ id: a, task: 'x', reason: 'boom' }]);
    const report = await redriveDeadLetters(t, { queue: Q, to: DLQ, ...FAST });
    expect(report).toMatchObject({ seen: 1, moved: 0, skipped: 1 });
    expect(report.outcomes[0]?.detail).toContain(DLQ);
    expect((await t.queueDepth(DLQ)).ready).toBe(1);
  });

  it('tells progress after each letter', async () => {
    const t = await open();
    await deadLetter(
      t,
      ids(3).map((id) => ({ id, task: 'x', reason: 'boom' })),
    );
    const seen: number[] = [];
    await redriveDeadLetters(t, {
      queue: Q,
      concurrency: 1,
      ...FAST,
      onProgress: (p) => {
        expect(p.waiting).toBe(3);
        seen.push(p.counts.moved ?? -1);
      },
    });
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('dead letters: purge', () => {
  it('removes matching letters only, or all of them', async () => {
    const t = await open();
    const [a, b] = ids(2) as [string, string];
    await deadLetter(t, [
      { id: a, task: 'emails.send', reason: 'boom' },
      { id: b, task: 'reports.build', reason: 'boom' },
    ]);
    await deadLetterGarbage(t, new Uint8Array([1, 2, 3]));
    const dry = await purgeDeadLetters(t, { queue: Q, dryRun: true, ...FAST });
    expect(dry).toMatchObject({ wouldPurge: 3, purged: 0 });
    expect((await t.queueDepth(DLQ)).ready).toBe(3);

    const some = await purgeDeadLetters(t, {
      queue: Q,
      filter: parseDeadLetterFilter(['task=emails.*']),
      ...FAST,
    });
    expect(some).toMatchObject({ purged: 1, unmatched: 2 });
    expect((await listDeadLetters(t, { queue: Q, ...FAST })).letters.map((l) => l.taskId)).toEqual([b, null]);

    const all = await purgeDeadLetters(t, { queue: Q, ...FAST });
    expect(all).toMatchObject({ purged: 2, seen: 2 });
    expect((await t.queueDepth(DLQ)).ready).toBe(0);
  });

  it('names the option when the queue or limit is wrong', async () => {
    const t = await open();
    await expect(purgeDeadLetters(t, { queue: '' })).rejects.toThrow(/"queue"/);
    await expect(listDeadLetters(t, { queue: Q, limit: 0 })).rejects.toThrow(/"limit"/);
    await expect(redriveDeadLetters(t, { queue: Q, to: '' })).rejects.toThrow(/"to"/);
  });
});
