import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  DEAD_LETTERED_AT_HEADER,
  type Delivery,
  InvalidOptionError,
  LeaseLostError,
  MalformedMessageError,
  MemoryTransport,
  type MemoryTransportOptions,
  MessageTooLargeError,
  RAW_CONTENT_TYPE,
  TransportClosedError,
  UnsupportedFeatureError,
} from '../src/index.js';
import { encodeKombuEnvelope, encodeTaskMessage } from '../src/transport-authors.js';
import { bodyText, collect, deferred, eventually, pause, uniqueBroker, wireMessage } from './helpers.js';

const Q = 'jobs';
const opened: MemoryTransport[] = [];

/** A connected transport on `broker` (a fresh one by default); closed after the test. */
async function open(options: MemoryTransportOptions = {}): Promise<MemoryTransport> {
  const transport = new MemoryTransport({ broker: uniqueBroker('memory'), ...options });
  opened.push(transport);
  await transport.connect();
  return transport;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

const texts = (deliveries: readonly Delivery[]): string[] => deliveries.map(bodyText);

/** Like `collect`, with the time each delivery reached the handler. */
async function collectTimed(
  transport: MemoryTransport,
  queue: string,
): Promise<{ delivery: Delivery; at: number }[]> {
  const received: { delivery: Delivery; at: number }[] = [];
  await transport.consume(queue, (delivery) => void received.push({ delivery, at: Date.now() }), {
    prefetch: 100,
  });
  return received;
}

describe('MemoryTransport: publish, consume, ack', () => {
  it('delivers a published message with its headers, properties and body', async () => {
    const transport = await open();
    await transport.declareQueue({ name: Q });
    await transport.publish(Q, wireMessage('hello', { 'x-id': 'a' }));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    const [delivery] = received as [Delivery];
    expect(bodyText(delivery)).toBe('hello');
    expect(delivery.message?.headers).toEqual({ 'x-id': 'a' });
    expect(delivery.message?.properties.content_type).toBe('text/plain');
    expect(delivery.queue).toBe(Q);
    expect(delivery.deliveryCount).toBe(1);
    expect(delivery.malformed).toBeNull();
  });

  it('delivers to a consumer registered before the publish, in publish order', async () => {
    const transport = await open();
    const received = await collect(transport, Q);
    for (const text of ['1', '2', '3', '4']) await transport.publish(Q, wireMessage(text));
    await eventually(() => expect(texts(received)).toEqual(['1', '2', '3', '4']));
  });

  it('removes an acked message for good', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('once'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    expect(await transport.queueDepth(Q)).toEqual({ ready: 0, inFlight: 1, delayed: 0 });
    await received[0]!.ack();
    expect(await transport.queueDepth(Q)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
    await pause(30);
    expect(received).toHaveLength(1);
  });

  it('treats a second settlement of the same delivery as a no-op', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await received[0]!.ack();
    await received[0]!.nack();
    await received[0]!.reject('late');
    await pause(30);
    expect(received).toHaveLength(1);
    expect(await transport.queueDepth(`${Q}.dlq`)).toMatchObject({ ready: 0 });
  });

  it('reports the depth of an unknown queue as zero', async () => {
    const transport = await open();
    expect(await transport.queueDepth('nothing-here')).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
  });

  it('publishes a batch and delivers it in order', async () => {
    const transport = await open();
    await transport.publishBatch(Q, [{ message: wireMessage('a') }, { message: wireMessage('b') }]);
    const received = await collect(transport, Q);
    await eventually(() => expect(texts(received)).toEqual(['a', 'b']));
  });

  it('stores nothing of a batch when one entry is invalid', async () => {
    const transport = await open({ maxMessageBytes: 4 });
    await expect(
      transport.publishBatch(Q, [{ message: wireMessage('ok') }, { message: wireMessage('too long') }]),
    ).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(await transport.queueDepth(Q)).toMatchObject({ ready: 0 });
  });
});

describe('MemoryTransport: nack and reject', () => {
  it('redelivers a nacked message with deliveryCount 2', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('again'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await received[0]!.nack();
    await eventually(() => expect(received).toHaveLength(2));
    expect(bodyText(received[1]!)).toBe('again');
    expect(received[1]!.deliveryCount).toBe(2);
    expect(received[0]!.deliveryCount).toBe(1);
  });

  it('puts a nacked message before the messages that were waiting behind it', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('first'));
    await transport.publish(Q, wireMessage('second'));
    const received = await collect(transport, Q, 1);
    await eventually(() => expect(received).toHaveLength(1));
    await received[0]!.nack();
    await eventually(() => expect(received).toHaveLength(2));
    expect(bodyText(received[1]!)).toBe('first');
  });

  it('redelivers a message nacked with delayMs only after the delay', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('later'));
    const received = await collectTimed(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    const nackedAt = Date.now();
    await received[0]!.delivery.nack({ delayMs: 150 });
    expect(await transport.queueDepth(Q)).toEqual({ ready: 0, inFlight: 0, delayed: 1 });
    await eventually(() => expect(received).toHaveLength(2));
    expect(received[1]!.at - nackedAt).toBeGreaterThanOrEqual(145);
    expect(received[1]!.delivery.deliveryCount).toBe(2);
  });

  it('rejects a negative nack delay with InvalidOptionError and keeps the delivery open', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await expect(received[0]!.nack({ delayMs: -5 })).rejects.toMatchObject({ option: 'delayMs' });
    await received[0]!.ack();
    expect(await transport.queueDepth(Q)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
  });

  it('moves a rejected message to <queue>.dlq with the reason and source headers', async () => {
    const transport = await open();
    await transport.declareQueue({ name: Q });
    await transport.publish(Q, wireMessage('poison', { 'x-keep': 1 }));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await received[0]!.reject('handler exploded');

    const dead = await collect(transport, `${Q}.dlq`);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(bodyText(dead[0]!)).toBe('poison');
    expect(dead[0]!.message?.headers).toEqual({
      'x-keep': 1,
      [DEAD_LETTER_REASON_HEADER]: 'handler exploded',
      [DEAD_LETTER_SOURCE_HEADER]: Q,
      [DEAD_LETTERED_AT_HEADER]: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(await transport.queueDepth(Q)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
  });

  it('dead-letters to the queue named at declaration', async () => {
    const transport = await open();
    await transport.declareQueue({ name: Q, deadLetterQueue: 'graveyard' });
    await transport.publish(Q, wireMessage('poison'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await received[0]!.reject('why');
    expect(await transport.queueDepth('graveyard')).toMatchObject({ ready: 1 });
    expect(await transport.queueDepth(`${Q}.dlq`)).toMatchObject({ ready: 0 });
  });

  it('refuses reject on a queue declared without a dead-letter queue, and keeps the message', async () => {
    const transport = await open();
    await transport.declareQueue({ name: Q, deadLetterQueue: null });
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await expect(received[0]!.reject('why')).rejects.toBeInstanceOf(UnsupportedFeatureError);
    expect(await transport.queueDepth(Q)).toMatchObject({ inFlight: 1 });
  });
});

describe('MemoryTransport: priority and delay', () => {
  it('delivers higher priorities first, publish order within a priority', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('low-1'), { priority: 0 });
    await transport.publish(Q, wireMessage('high-1'), { priority: 9 });
    await transport.publish(Q, wireMessage('mid'), { priority: 5 });
    await transport.publish(Q, wireMessage('high-2'), { priority: 9 });
    await transport.publish(Q, wireMessage('low-2'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(5));
    expect(texts(received)).toEqual(['high-1', 'high-2', 'mid', 'low-1', 'low-2']);
  });

  it('uses the priority property of the message when no option is given', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('plain'));
    await transport.publish(Q, {
      ...wireMessage('urgent'),
      properties: { ...wireMessage('').properties, priority: 3 },
    });
    const received = await collect(transport, Q);
    await eventually(() => expect(texts(received)).toEqual(['urgent', 'plain']));
  });

  it('lets a later high-priority message overtake waiting ones', async () => {
    const transport = await open();
    for (const text of ['a', 'b', 'c']) await transport.publish(Q, wireMessage(text));
    const received = await collect(transport, Q, 1);
    await eventually(() => expect(received).toHaveLength(1));
    await transport.publish(Q, wireMessage('urgent'), { priority: 8 });
    await received[0]!.ack();
    await eventually(() => expect(received).toHaveLength(2));
    expect(bodyText(received[1]!)).toBe('urgent');
  });

  it.each([[-1], [10], [1.5]])(
    'refuses priority %d outside 0..9 with InvalidOptionError',
    async (priority) => {
      const transport = await open();
      await expect(transport.publish(Q, wireMessage('x'), { priority })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
        option: 'priority',
      });
    },
  );

  it('holds a delayed message until its delay has passed', async () => {
    const transport = await open();
    const received = await collectTimed(transport, Q);
    const publishedAt = Date.now();
    await transport.publish(Q, wireMessage('delayed'), { delayMs: 150 });
    await transport.publish(Q, wireMessage('now'));
    expect(await transport.queueDepth(Q)).toMatchObject({ delayed: 1 });
    await eventually(() => expect(received.map((r) => bodyText(r.delivery))).toEqual(['now', 'delayed']));
    expect(received[1]!.at - publishedAt).toBeGreaterThanOrEqual(145);
  });

  it('releases delayed messages in due order', async () => {
    const transport = await open();
    const received = await collect(transport, Q);
    await transport.publish(Q, wireMessage('third'), { delayMs: 120 });
    await transport.publish(Q, wireMessage('first'), { delayMs: 20 });
    await transport.publish(Q, wireMessage('second'), { delayMs: 70 });
    await eventually(() => expect(texts(received)).toEqual(['first', 'second', 'third']));
  });

  it('delivers a message delayed before any consumer existed', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('parked'), { delayMs: 30 });
    await pause(60);
    const received = await collect(transport, Q);
    await eventually(() => expect(texts(received)).toEqual(['parked']));
  });
});

describe('MemoryTransport: prefetch and consumers', () => {
  it('never hands one consumer more unsettled deliveries than its prefetch', async () => {
    const transport = await open();
    const total = 30;
    const prefetch = 3;
    let unsettled = 0;
    let maxUnsettled = 0;
    let acked = 0;
    await transport.consume(
      Q,
      async (delivery) => {
        unsettled += 1;
        maxUnsettled = Math.max(maxUnsettled, unsettled);
        await pause(1 + Math.floor(Math.random() * 4));
        unsettled -= 1;
        acked += 1;
        await delivery.ack();
      },
      { prefetch },
    );
    for (let i = 0; i < total; i++) await transport.publish(Q, wireMessage(String(i)));
    await eventually(() => expect(acked).toBe(total));
    expect(maxUnsettled).toBe(prefetch);
  });

  it('hands out no more once prefetch deliveries are unsettled, and resumes on settlement', async () => {
    const transport = await open();
    for (let i = 0; i < 5; i++) await transport.publish(Q, wireMessage(String(i)));
    const received = await collect(transport, Q, 2);
    await eventually(() => expect(received).toHaveLength(2));
    await pause(30);
    expect(received).toHaveLength(2);
    expect(await transport.queueDepth(Q)).toMatchObject({ ready: 3, inFlight: 2 });
    await received[0]!.ack();
    await eventually(() => expect(received).toHaveLength(3));
  });

  it('shares a queue between consumers', async () => {
    const transport = await open();
    const a = await collect(transport, Q, 1);
    const b = await collect(transport, Q, 1);
    await transport.publish(Q, wireMessage('1'));
    await transport.publish(Q, wireMessage('2'));
    await eventually(() => {
      expect(a).toHaveLength(1);
      expect(b).toHaveLength(1);
    });
  });

  it('stops delivering to an aborted consumer, whose open deliveries can still be acked', async () => {
    const transport = await open();
    const controller = new AbortController();
    await transport.publish(Q, wireMessage('1'));
    const received = await collect(transport, Q, 10, controller.signal);
    await eventually(() => expect(received).toHaveLength(1));
    controller.abort();
    await transport.publish(Q, wireMessage('2'));
    await pause(30);
    expect(received).toHaveLength(1);
    await received[0]!.ack();
    expect(await transport.queueDepth(Q)).toEqual({ ready: 1, inFlight: 0, delayed: 0 });
  });

  it('registers nothing for a signal that is already aborted', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('1'));
    const controller = new AbortController();
    controller.abort();
    const received = await collect(transport, Q, 10, controller.signal);
    await pause(30);
    expect(received).toHaveLength(0);
  });

  it.each([[0], [-1], [1.5], [undefined]])(
    'refuses prefetch %s with InvalidOptionError',
    async (prefetch) => {
      const transport = await open();
      await expect(transport.consume(Q, () => {}, { prefetch: prefetch as number })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
        option: 'prefetch',
      });
    },
  );

  it('nacks the delivery of a handler that throws, so the message is not lost', async () => {
    const onHandlerError = vi.fn();
    const transport = await open({ onHandlerError });
    await transport.publish(Q, wireMessage('x'));
    const counts: number[] = [];
    await transport.consume(
      Q,
      async (delivery) => {
        counts.push(delivery.deliveryCount);
        if (delivery.deliveryCount === 1) throw new Error('handler bug');
        await delivery.ack();
      },
      { prefetch: 1 },
    );
    await eventually(() => expect(counts).toEqual([1, 2]));
    expect(onHandlerError).toHaveBeenCalledWith(expect.objectContaining({ message: 'handler bug' }));
  });
});

describe('MemoryTransport: connections and close', () => {
  it('returns unsettled deliveries to the broker on close, in order, for another connection', async () => {
    const broker = uniqueBroker('close');
    const first = await open({ broker });
    const second = await open({ broker });
    for (const text of ['1', '2', '3', '4']) await first.publish(Q, wireMessage(text));
    const held = await collect(first, Q, 3);
    await eventually(() => expect(held).toHaveLength(3));
    const taken = await collect(second, Q);
    await eventually(() => expect(texts(taken)).toEqual(['4']));
    await held[1]!.ack();

    await first.close();
    await eventually(() => expect(texts(taken)).toEqual(['4', '1', '3']));
    expect(taken.map((d) => d.deliveryCount)).toEqual([1, 2, 2]);
  });

  it('rejects settling a delivery after its transport closed with TransportClosedError', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q, 3);
    await eventually(() => expect(received).toHaveLength(1));
    await transport.close();
    const [delivery] = received as [Delivery];
    await expect(delivery.ack()).rejects.toBeInstanceOf(TransportClosedError);
    await expect(delivery.nack()).rejects.toBeInstanceOf(TransportClosedError);
    await expect(delivery.reject('late')).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('rejects every operation after close with TransportClosedError, and close is idempotent', async () => {
    const transport = await open();
    await transport.close();
    await transport.close();
    await expect(transport.publish(Q, wireMessage('x'))).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.publishBatch(Q, [])).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.publishRaw(Q, new Uint8Array())).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.consume(Q, () => {}, { prefetch: 1 })).rejects.toBeInstanceOf(
      TransportClosedError,
    );
    await expect(transport.declareQueue({ name: Q })).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.queueDepth(Q)).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.connect()).rejects.toBeInstanceOf(TransportClosedError);
    expect(await transport.health()).toMatchObject({ ok: false });
  });

  it('reports health and tolerates a second connect', async () => {
    const transport = await open();
    await transport.connect();
    expect(await transport.health()).toMatchObject({ ok: true });
  });

  it('keeps brokers with different names apart', async () => {
    const a = await open();
    const b = await open();
    await a.publish(Q, wireMessage('x'));
    expect(await b.queueDepth(Q)).toMatchObject({ ready: 0 });
    expect(await a.queueDepth(Q)).toMatchObject({ ready: 1 });
  });

  it('opens a shared named broker from a memory:// URL with its parameters', async () => {
    const name = uniqueBroker('url');
    const viaUrl = MemoryTransport.fromUrl(`memory://${name}?visibilityTimeoutMs=250&maxMessageBytes=64`);
    opened.push(viaUrl);
    expect(viaUrl.visibilityTimeoutMs).toBe(250);
    expect(viaUrl.capabilities.maxMessageBytes).toBe(64);
    const direct = await open({ broker: name });
    await direct.publish(Q, wireMessage('x'));
    expect(await viaUrl.queueDepth(Q)).toMatchObject({ ready: 1 });
    expect(() => MemoryTransport.fromUrl('memory://x?colour=blue')).toThrow(InvalidOptionError);
  });
});

describe('MemoryTransport: visibility timeout', () => {
  it('redelivers a delivery that stays unsettled past the visibility timeout', async () => {
    const transport = await open({ visibilityTimeoutMs: 50 });
    await transport.publish(Q, wireMessage('slow'));
    const received: Delivery[] = [];
    await transport.consume(
      Q,
      async (delivery) => {
        received.push(delivery);
        if (delivery.deliveryCount > 1) await delivery.ack();
      },
      { prefetch: 1 },
    );
    await eventually(() => expect(received).toHaveLength(2));
    expect(received[1]!.deliveryCount).toBe(2);
    expect(received[0]!.deliveryCount).toBe(1);
    expect(bodyText(received[1]!)).toBe('slow');
    // The expired delivery settles nothing any more: a late ack or nack says the lease was lost.
    await expect(received[0]!.ack()).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await expect(received[0]!.nack()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await transport.queueDepth(Q)).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
    await pause(120);
    expect(received).toHaveLength(2);
  });

  it('postpones the redelivery when extendVisibility is called', async () => {
    const transport = await open({ visibilityTimeoutMs: 50 });
    const redelivered = deferred<number>();
    const deliveredAt: number[] = [];
    let extendedAt = 0;
    await transport.consume(
      Q,
      async (delivery) => {
        deliveredAt.push(Date.now());
        if (delivery.deliveryCount === 1) {
          extendedAt = Date.now();
          await delivery.extendVisibility(400);
        } else {
          redelivered.resolve(Date.now());
          await delivery.ack();
        }
      },
      { prefetch: 1 },
    );
    await transport.publish(Q, wireMessage('long job'));
    const at = await redelivered.promise;
    expect(at - extendedAt).toBeGreaterThanOrEqual(395);
    expect(deliveredAt).toHaveLength(2);
  });

  it('never redelivers by time when visibilityTimeoutMs is null, and then refuses extendVisibility', async () => {
    const transport = await open({ visibilityTimeoutMs: null });
    expect(transport.capabilities.visibilityExtension).toBe(false);
    expect(transport.capabilities.redelivery.visibilityTimeoutMs).toBeNull();
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await expect(received[0]!.extendVisibility(1000)).rejects.toBeInstanceOf(UnsupportedFeatureError);
  });
});

describe('MemoryTransport: raw payloads', () => {
  it('delivers garbage bytes with `malformed` set instead of dropping them', async () => {
    const transport = await open();
    await transport.publishRaw(Q, new TextEncoder().encode('not an envelope'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    const [delivery] = received as [Delivery];
    expect(delivery.message).toBeNull();
    expect(delivery.malformed).toBeInstanceOf(MalformedMessageError);
    expect(delivery.malformed?.reason).toMatch(/not JSON/);
  });

  it('dead-letters malformed bytes as they were, with the reason', async () => {
    const transport = await open();
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    await transport.publishRaw(Q, garbage);
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await received[0]!.reject('undecodable');
    const dead = await collect(transport, `${Q}.dlq`);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(dead[0]!.message?.properties.content_type).toBe(RAW_CONTENT_TYPE);
    expect(Buffer.from(dead[0]!.message!.body)).toEqual(Buffer.from(garbage));
    expect(dead[0]!.message?.headers[DEAD_LETTER_REASON_HEADER]).toBe('undecodable');
  });

  it('decodes a kombu envelope published raw', async () => {
    const transport = await open();
    const wire = encodeTaskMessage({ id: 'id-1', task: 'tasks.add', args: [1, 2] });
    const envelope = encodeKombuEnvelope(wire, { exchange: '', routing_key: Q }, 'tag');
    await transport.publishRaw(Q, new TextEncoder().encode(envelope));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    expect(received[0]!.malformed).toBeNull();
    expect(received[0]!.message?.headers.task).toBe('tasks.add');
    expect(Buffer.from(received[0]!.message!.body)).toEqual(Buffer.from(wire.body));
  });
});

describe('MemoryTransport: deduplication', () => {
  it('drops a message whose deduplicationId was seen on the queue', async () => {
    const transport = await open();
    await transport.publish(Q, wireMessage('a'), { deduplicationId: 'same' });
    await transport.publish(Q, wireMessage('b'), { deduplicationId: 'same' });
    await transport.publish(Q, wireMessage('c'), { deduplicationId: 'other' });
    await transport.publish(Q, wireMessage('d'));
    await transport.publish(Q, wireMessage('e'));
    const received = await collect(transport, Q);
    await eventually(() => expect(texts(received)).toEqual(['a', 'c', 'd', 'e']));
  });

  it('scopes deduplication ids to one queue', async () => {
    const transport = await open();
    await transport.publish('q1', wireMessage('a'), { deduplicationId: 'same' });
    await transport.publish('q2', wireMessage('b'), { deduplicationId: 'same' });
    expect(await transport.queueDepth('q2')).toMatchObject({ ready: 1 });
  });
});

describe('MemoryTransport: options and capabilities', () => {
  it('claims its full manifest', async () => {
    const transport = await open();
    expect(transport.capabilities).toMatchObject({
      delay: { mode: 'native', maxDelayMs: null },
      priorityLevels: 10,
      ordering: 'queue',
      deadLetter: true,
      batchPublish: true,
      visibilityExtension: true,
      deduplication: true,
    });
    expect(Object.isFrozen(transport.capabilities)).toBe(true);
    expect(Object.isFrozen(transport.capabilities.delay)).toBe(true);
  });

  it('throws InvalidOptionError naming an unknown constructor option', () => {
    let error: unknown;
    try {
      new MemoryTransport({ broker: uniqueBroker(), visibilityTimeout: 5 } as MemoryTransportOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('visibilityTimeout');
    expect((error as InvalidOptionError).message).toContain('visibilityTimeout');
  });

  it.each<[string, MemoryTransportOptions, string]>([
    ['visibilityTimeoutMs 0', { visibilityTimeoutMs: 0 }, 'visibilityTimeoutMs'],
    ['visibilityTimeoutMs NaN', { visibilityTimeoutMs: Number.NaN }, 'visibilityTimeoutMs'],
    ['maxMessageBytes 0', { maxMessageBytes: 0 }, 'maxMessageBytes'],
    ['maxMessageBytes 1.5', { maxMessageBytes: 1.5 }, 'maxMessageBytes'],
  ])('throws InvalidOptionError for %s', (_case, options, option) => {
    expect(() => new MemoryTransport({ broker: uniqueBroker(), ...options })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', option }),
    );
  });

  it('throws MessageTooLargeError for a body over maxMessageBytes, and accepts one at the limit', async () => {
    const transport = await open({ maxMessageBytes: 8 });
    await transport.publish(Q, wireMessage('12345678'));
    const error = await transport.publish(Q, wireMessage('123456789')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ size: 9, limit: 8, code: 'MESSAGE_TOO_LARGE' });
    expect(await transport.queueDepth(Q)).toMatchObject({ ready: 1 });
  });

  it('refuses priorities with UnsupportedFeatureError when restricted to none', async () => {
    const transport = await open({ restrictCapabilities: { priorityLevels: 0 } });
    expect(transport.capabilities.priorityLevels).toBe(0);
    const error = await transport.publish(Q, wireMessage('x'), { priority: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedFeatureError);
    expect(error).toMatchObject({ feature: 'priority', code: 'UNSUPPORTED_FEATURE' });
    await transport.publish(Q, wireMessage('x'), { priority: 0 });
  });

  it('refuses delays when restricted to delay mode none, on publish and on nack', async () => {
    const transport = await open({ restrictCapabilities: { delay: { mode: 'none' } } });
    await expect(transport.publish(Q, wireMessage('x'), { delayMs: 10 })).rejects.toMatchObject({
      feature: 'delay',
    });
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await expect(received[0]!.nack({ delayMs: 10 })).rejects.toBeInstanceOf(UnsupportedFeatureError);
    expect(await transport.queueDepth(Q)).toMatchObject({ inFlight: 1 });
  });

  it('refuses delays over a restricted maxDelayMs', async () => {
    const transport = await open({ restrictCapabilities: { delay: { maxDelayMs: 100 } } });
    await transport.publish(Q, wireMessage('x'), { delayMs: 100 });
    await expect(transport.publish(Q, wireMessage('x'), { delayMs: 101 })).rejects.toMatchObject({
      feature: 'delay',
    });
  });

  it('refuses reject when restricted to no dead-lettering', async () => {
    const transport = await open({ restrictCapabilities: { deadLetter: false } });
    await transport.publish(Q, wireMessage('x'));
    const received = await collect(transport, Q);
    await eventually(() => expect(received).toHaveLength(1));
    await expect(received[0]!.reject('why')).rejects.toMatchObject({ feature: 'deadLetter' });
  });

  it('refuses deduplication ids and ordering keys when restricted', async () => {
    const transport = await open({ restrictCapabilities: { deduplication: false, ordering: 'none' } });
    await expect(transport.publish(Q, wireMessage('x'), { deduplicationId: 'a' })).rejects.toMatchObject({
      feature: 'deduplication',
    });
    await expect(transport.publish(Q, wireMessage('x'), { orderingKey: 'k' })).rejects.toMatchObject({
      feature: 'ordering',
    });
  });

  it('can only narrow its capabilities, never widen them', async () => {
    const transport = await open({
      restrictCapabilities: { priorityLevels: 50, maxMessageBytes: 10 * 1024 * 1024, deadLetter: true },
    });
    expect(transport.capabilities.priorityLevels).toBe(10);
    expect(transport.capabilities.maxMessageBytes).toBe(1024 * 1024);
  });
});
