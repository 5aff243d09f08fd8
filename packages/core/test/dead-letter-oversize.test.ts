import { afterEach, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_CONTENT_ENCODING_HEADER,
  DEAD_LETTER_CONTENT_TYPE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
  type Delivery,
  defineTask,
  MemoryTransport,
  type MemoryTransportOptions,
  RAW_CONTENT_TYPE,
  type WireMessage,
  Worker,
  type WorkerEvents,
} from '../src/index.js';
import {
  checkPublish,
  type DeliveryPort,
  deadLetterMessage,
  defineCapabilities,
  encodeKombuEnvelope,
  encodeTaskMessage,
  HeldDeliveries,
  PrefetchWindow,
  TransportDelivery,
} from '../src/transport-authors.js';
import { eventually, pause, uniqueBroker } from './helpers.js';

const LIMIT = 4096;

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Celery task message whose JSON body is `size` bytes or a little more. */
function bigTask(id: string, size: number): WireMessage {
  return encodeTaskMessage({ id, task: 'tasks.big', args: ['x'.repeat(size)] });
}

/** The bytes another producer (Python, a script) would push: a kombu envelope, unchecked. */
function envelopeOf(message: WireMessage): Uint8Array {
  return new TextEncoder().encode(encodeKombuEnvelope(message, { exchange: '', routing_key: 'celery' }, 't'));
}

/** Bytes of the letter as a transport that counts the whole message would see them. */
function letterBytes(letter: WireMessage): number {
  return (
    letter.body.byteLength + Buffer.byteLength(JSON.stringify({ h: letter.headers, p: letter.properties }))
  );
}

describe('deadLetterMessage: a letter above the size limit', () => {
  it('keeps a letter within the limit whole, with no truncation header', () => {
    const message = bigTask('small', 100);
    const letter = deadLetterMessage({ queue: 'celery', reason: 'boom', message, maxBytes: LIMIT });
    expect(letter.body).toBe(message.body);
    expect(letter.properties).toEqual(message.properties);
    expect(letter.headers[DEAD_LETTER_REASON_HEADER]).toBe('boom');
    expect(letter.headers).not.toHaveProperty(DEAD_LETTER_TRUNCATED_HEADER);
  });

  it('keeps the headers and the first bytes, marks the cut and says so in the reason', () => {
    const message = bigTask('big', 20_000);
    const original = message.body.byteLength;
    const letter = deadLetterMessage({ queue: 'celery', reason: 'too big', message, maxBytes: LIMIT });

    const kept = letter.body.byteLength;
    expect(kept).toBeGreaterThan(LIMIT / 2);
    expect(letterBytes(letter)).toBeLessThanOrEqual(LIMIT);
    expect([...letter.body]).toEqual([...message.body.subarray(0, kept)]);
    expect(letter.headers).toMatchObject({
      ...message.headers,
      [DEAD_LETTER_SOURCE_HEADER]: 'celery',
      [DEAD_LETTER_TRUNCATED_HEADER]: original,
      [DEAD_LETTER_CONTENT_TYPE_HEADER]: 'application/json',
      [DEAD_LETTER_CONTENT_ENCODING_HEADER]: 'utf-8',
    });
    expect(letter.headers[DEAD_LETTER_REASON_HEADER]).toBe(
      `too big; payload truncated from ${original} to ${kept} bytes`,
    );
    // A cut JSON document is no longer JSON: the letter says it is bytes, the original type is kept aside.
    expect(letter.properties).toEqual({
      ...message.properties,
      content_type: RAW_CONTENT_TYPE,
      content_encoding: 'binary',
    });
  });

  it('truncates undecodable raw bytes the same way', () => {
    const raw = new Uint8Array(10_000).map((_, i) => (i * 7) % 256);
    const letter = deadLetterMessage({ queue: 'q', reason: 'garbage', message: null, raw, maxBytes: LIMIT });
    expect(letterBytes(letter)).toBeLessThanOrEqual(LIMIT);
    expect([...letter.body]).toEqual([...raw.subarray(0, letter.body.byteLength)]);
    expect(letter.headers[DEAD_LETTER_TRUNCATED_HEADER]).toBe(10_000);
    expect(letter.headers[DEAD_LETTER_REASON_HEADER]).toMatch(
      new RegExp(`^garbage; payload truncated from 10000 to ${letter.body.byteLength} bytes$`),
    );
  });

  it('always passes the publish checks of the transport whose limit it was given', () => {
    const caps = defineCapabilities({ maxMessageBytes: 300 });
    for (const size of [250, 299, 300, 301, 5000]) {
      const body = new Uint8Array(size).fill(0x41);
      const letter = deadLetterMessage({
        queue: 'celery',
        reason: 'r'.repeat(50),
        message: {
          headers: { id: 'x' },
          properties: { content_type: 'text/plain', content_encoding: 'utf-8' },
          body,
        },
        maxBytes: caps.maxMessageBytes,
      });
      expect(() => checkPublish('test', caps, letter, undefined), `body of ${size}`).not.toThrow();
    }
  });
});

describe('TransportDelivery.reject of a message above the limit', () => {
  it('stores a truncated letter that the transport accepts, and settles the delivery', async () => {
    const capabilities = defineCapabilities({ maxMessageBytes: LIMIT, deadLetter: true });
    const stored: WireMessage[] = [];
    const settled: string[] = [];
    // Like every transport's publish: the letter goes through the same checks as any message.
    const port: DeliveryPort<string> = {
      transportName: 'test',
      capabilities,
      leaseLostReason: 'its visibility timeout ran out',
      settle: (_receipt, settlement) => {
        settled.push(settlement.kind);
        return true;
      },
      deadLetterQueueOf: (queue) => `${queue}.dlq`,
      publishDeadLetter: async (_queue, letter) => {
        checkPublish('test', capabilities, letter, undefined);
        stored.push(letter);
      },
    };
    const delivery = new TransportDelivery<string>({
      port,
      held: new HeldDeliveries(),
      window: new PrefetchWindow(1),
      receipt: 'r1',
      queue: 'celery',
      message: bigTask('big', 3 * LIMIT),
      deliveryCount: 1,
    });
    expect(delivery.malformed?.reason).toMatch(/above this transport's limit of 4096 bytes/);
    await delivery.reject(delivery.malformed!.message);
    expect(settled).toEqual(['dead-lettered']);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.headers[DEAD_LETTER_TRUNCATED_HEADER]).toBeGreaterThan(3 * LIMIT);
  });
});

interface Setup {
  transport: MemoryTransport;
  dead: Delivery[];
  events: { type: keyof WorkerEvents; payload: unknown }[];
  ran: () => number;
}

async function workerOn(transportOptions: MemoryTransportOptions): Promise<Setup> {
  const transport = new MemoryTransport({ broker: uniqueBroker('oversize'), ...transportOptions });
  let calls = 0;
  const big = defineTask({ name: 'tasks.big', retry: { maxRetries: 0 }, handler: () => (calls += 1) });
  const worker = new Worker({ transport, tasks: [big] });
  const events: Setup['events'] = [];
  for (const type of ['rejected', 'error', 'failed', 'started'] as const) {
    worker.on(type, (payload) => events.push({ type, payload }));
  }
  cleanups.push(async () => {
    await worker.stop({ deadlineMs: 0 });
    await transport.close();
  });
  await transport.connect();
  // Acked as they arrive: an unsettled letter would itself come back after the visibility timeout.
  const dead: Delivery[] = [];
  await transport.consume(
    'celery.dlq',
    async (delivery) => {
      dead.push(delivery);
      await delivery.ack();
    },
    { prefetch: 10 },
  );
  await worker.start();
  return { transport, dead, events, ran: () => calls };
}

describe('Worker: a message above the transport limit leaves the queue', () => {
  it.each([
    ['the transport dead-letters', {}],
    ['core dead-letters (transport without dead-lettering)', { restrictCapabilities: { deadLetter: false } }],
  ] as const)('is dead-lettered once, truncated with the marker, when %s', async (_case, options) => {
    const s = await workerOn({ maxMessageBytes: LIMIT, visibilityTimeoutMs: 200, ...options });
    const message = bigTask('oversize', 5 * LIMIT);
    await s.transport.publishRaw('celery', envelopeOf(message));

    await eventually(() => expect(s.dead).toHaveLength(1));
    const letter = s.dead[0]!.message!;
    expect(String(letter.headers[DEAD_LETTER_REASON_HEADER])).toMatch(
      new RegExp(
        `body of ${message.body.byteLength} bytes is above this transport's limit of ${LIMIT} bytes.*; payload truncated from ${message.body.byteLength} to \\d+ bytes$`,
      ),
    );
    expect(letter.headers[DEAD_LETTER_TRUNCATED_HEADER]).toBe(message.body.byteLength);
    expect(letter.headers.id).toBe('oversize');
    expect(letter.body.byteLength).toBeLessThanOrEqual(LIMIT);
    expect([...letter.body]).toEqual([...message.body.subarray(0, letter.body.byteLength)]);

    // Well past a visibility timeout: it did not come back, nothing failed, the handler never ran.
    await pause(500);
    expect(s.dead).toHaveLength(1);
    expect(await s.transport.queueDepth('celery')).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
    expect(s.events.filter((e) => e.type === 'rejected')).toHaveLength(1);
    expect(s.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(s.ran()).toBe(0);
  });

  it('dead-letters undecodable bytes above the limit, truncated, when core dead-letters', async () => {
    const s = await workerOn({
      maxMessageBytes: LIMIT,
      visibilityTimeoutMs: 200,
      restrictCapabilities: { deadLetter: false },
    });
    const garbage = new Uint8Array(3 * LIMIT).fill(0xff);
    await s.transport.publishRaw('celery', garbage);

    await eventually(() => expect(s.dead).toHaveLength(1));
    const letter = s.dead[0]!.message!;
    expect(letter.properties.content_type).toBe(RAW_CONTENT_TYPE);
    expect(letter.headers[DEAD_LETTER_TRUNCATED_HEADER]).toBe(garbage.byteLength);
    expect(letter.body.byteLength).toBeLessThanOrEqual(LIMIT);
    expect(letter.body.every((byte) => byte === 0xff)).toBe(true);
    await pause(500);
    expect(s.dead).toHaveLength(1);
    expect(await s.transport.queueDepth('celery')).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
    expect(s.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('runs a message at the limit and refuses one a byte above it (the receive side checks the claim)', async () => {
    const s = await workerOn({ maxMessageBytes: LIMIT });
    const atLimit = bigTask('at-limit', 0);
    const pad = LIMIT - atLimit.body.byteLength;
    const fits = bigTask('fits', pad);
    const over = bigTask('over', pad + 1);
    expect(fits.body.byteLength).toBe(LIMIT);
    expect(over.body.byteLength).toBe(LIMIT + 1);
    await s.transport.publishRaw('celery', envelopeOf(over));
    await s.transport.publishRaw('celery', envelopeOf(fits));

    await eventually(() => expect(s.ran()).toBe(1));
    await eventually(() => expect(s.dead).toHaveLength(1));
    expect(s.dead[0]!.message!.headers.id).toBe('over');
    expect(String(s.dead[0]!.message!.headers[DEAD_LETTER_REASON_HEADER])).toMatch(
      `body of ${LIMIT + 1} bytes is above this transport's limit of ${LIMIT} bytes (capabilities.maxMessageBytes)`,
    );
  });
});
