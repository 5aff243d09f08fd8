// First: @conveyor/amqp must load before amqplib to read py-amqp's 64-bit `L` headers.
import '../src/index.js';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  DEAD_LETTER_REASON_HEADER,
  defineTask,
  type JsonValue,
  type TaskContext,
  Worker,
} from '@conveyor/core';
import { ensurePythonCelery, skipOrFailInCi } from '@conveyor/python-interop';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport, typedHeaders } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

const require = createRequire(import.meta.url);
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  encodeTable(buffer: Buffer, table: Record<string, unknown>, offset: number): number;
};

const queues: string[] = [];
const closers: (() => Promise<unknown>)[] = [];
const fresh = (label: string): string => {
  const queue = `headers-${label}-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue, `${queue}.dlq`);
  return queue;
};
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await rabbitHarness('cleanup').cleanup?.(queues);
});

/** One header of every field-table type RabbitMQ accepts, as amqplib writes them (tag in the comment). */
const TYPED_HEADERS: Record<string, unknown> = {
  ts: { '!': 'timestamp', value: 1_700_000_000 }, // T (Python datetime)
  dec: { '!': 'decimal', value: { places: 2, digits: 314 } }, // D (Python Decimal)
  bin: Buffer.from([0, 1, 2, 254, 255]), // x
  f32: { '!': 'float', value: 1.5 }, // f
  f64: { '!': 'double', value: 2.25 }, // d
  nested: { inner: 'x', when: { '!': 'timestamp', value: 1_600_000_000 }, n: { '!': 'int', value: 7 } }, // F
  arr: [1, 'two', null, { '!': 'timestamp', value: 5 }, [true], Buffer.from('hi')], // A
  none: null, // V
  big: { '!': 'long', value: 2 ** 40 }, // l
  negbig: { '!': 'long', value: -(2 ** 40) }, // l
  yes: true, // t
  i8: { '!': 'byte', value: -5 }, // b
  u8: { '!': 'uint8', value: 200 }, // B
  i16: { '!': 'short', value: -300 }, // s (RabbitMQ's signed 16-bit; it has no short strings in tables)
  u16: { '!': 'uint16', value: 60_000 }, // u
  i32: { '!': 'int', value: -70_000 }, // I
  u32: { '!': 'uint32', value: 4_000_000_000 }, // i
  str: 'text', // S
};

/** What amqplib (and so a handler) reads back for TYPED_HEADERS. */
const READ_BACK: Record<string, unknown> = {
  ts: { '!': 'timestamp', value: 1_700_000_000 },
  dec: { '!': 'decimal', value: { places: 2, digits: 314 } },
  bin: Buffer.from([0, 1, 2, 254, 255]),
  f32: 1.5,
  f64: 2.25,
  nested: { inner: 'x', when: { '!': 'timestamp', value: 1_600_000_000 }, n: 7 },
  arr: [1, 'two', null, { '!': 'timestamp', value: 5 }, [true], Buffer.from('hi')],
  none: null,
  big: 2 ** 40,
  negbig: -(2 ** 40),
  yes: true,
  i8: -5,
  u8: 200,
  i16: -300,
  u16: 60_000,
  i32: -70_000,
  u32: 4_000_000_000,
  str: 'text',
};

/** A Celery protocol-2 task published raw with amqplib, headers typed as a Python producer would. */
async function publishTask(
  queue: string,
  task: string,
  headers: Record<string, unknown>,
  id = `id-${Math.random().toString(36).slice(2)}`,
): Promise<string> {
  const connection = await amqplib.connect(RABBIT_URL);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    await new Promise<void>((resolve, reject) =>
      channel.publish(
        '',
        queue,
        Buffer.from('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
        {
          persistent: true,
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          headers: { lang: 'py', task, id, retries: { '!': 'int', value: 0 }, ...headers },
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  } finally {
    await connection.close();
  }
  return id;
}

/** The first message of `queue`, read raw with amqplib (null when it stays empty for `ms`). */
async function getRaw(queue: string, ms = 10_000): Promise<amqplib.GetMessage | null> {
  const connection = await amqplib.connect(RABBIT_URL);
  try {
    const channel = await connection.createChannel();
    const until = Date.now() + ms;
    for (;;) {
      const msg = await channel.get(queue, { noAck: true });
      if (msg) return msg;
      if (Date.now() > until) return null;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await connection.close();
  }
}

function pick(headers: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, headers[key]]));
}

/** The tag of each top-level value in a field table amqplib encodes. */
function tagsOf(table: Record<string, unknown>): Record<string, string> {
  const buffer = Buffer.alloc(65_536);
  const end = codec.encodeTable(buffer, table, 0);
  const tags: Record<string, string> = {};
  let offset = 4;
  for (const key of Object.keys(table)) {
    const length = buffer.readUInt8(offset);
    offset += 1 + length;
    tags[key] = String.fromCharCode(buffer[offset]!);
    // Skip the value: encode it alone to learn its size.
    const one = Buffer.alloc(65_536);
    offset += codec.encodeTable(one, { [key]: table[key] }, 0) - 4 - 1 - length;
  }
  expect(offset).toBe(end);
  return tags;
}

describe('AMQP header types survive a re-publish', () => {
  it('writes each header back with the same AMQP type wherever JavaScript can tell it (unit)', () => {
    expect(tagsOf(typedHeaders(READ_BACK as Record<string, JsonValue>))).toEqual({
      ts: 'T',
      dec: 'D',
      bin: 'x',
      f32: 'd', // float widened to double: the value is exact
      f64: 'd',
      nested: 'F',
      arr: 'A',
      none: 'V',
      big: 'l', // a 64-bit integer stays an integer (not a double)
      negbig: 'd', // py-amqp 5.1.1 reads l as unsigned: a negative one stays a double
      yes: 't',
      i8: 'I',
      u8: 'I',
      i16: 'I',
      u16: 'I',
      i32: 'I',
      u32: 'l',
      str: 'S',
    });
  });

  it('a task with every header type is retried (twice, through the delay ladder) and dead-lettered, headers unchanged', async () => {
    const queue = fresh('retry');
    const seen: Record<string, unknown>[] = [];
    const failing = defineTask({
      name: 'headers.failing',
      queue,
      retry: { maxRetries: 2, initialDelayMs: 1000, factor: 1, maxDelayMs: 1000, jitter: 'none' },
      handler: (_args: [], ctx: TaskContext) => {
        seen.push({ ...ctx.headers });
        throw new Error('fails on purpose');
      },
    });
    const transport = new AmqpTransport({ url: RABBIT_URL });
    const worker = new Worker({ transport, tasks: [failing], concurrency: 2 });
    const errors: unknown[] = [];
    worker.on('error', ({ error }) => errors.push(error));
    closers.push(
      () => transport.close(),
      () => worker.stop({ deadlineMs: 0 }),
    );
    await transport.declareQueue({ name: queue });
    await worker.start();
    await publishTask(queue, 'headers.failing', TYPED_HEADERS);

    const letter = await getRaw(`${queue}.dlq`, 20_000);
    expect(errors).toEqual([]);
    expect(seen).toHaveLength(3);
    const keys = Object.keys(READ_BACK);
    for (const headers of seen) expect(pick(headers, keys)).toEqual(READ_BACK);
    // The second and third runs came through the delay ladder: RabbitMQ's x-death (with its own
    // timestamp) is re-published too.
    expect(seen[2]!['x-death']).toEqual([
      expect.objectContaining({ time: expect.objectContaining({ '!': 'timestamp' }) }),
    ]);
    expect(letter).not.toBeNull();
    expect(pick(letter!.properties.headers ?? {}, keys)).toEqual(READ_BACK);
    expect(String(letter!.properties.headers?.[DEAD_LETTER_REASON_HEADER])).toMatch(
      /gave up after 2 retries/,
    );
  }, 40_000);

  it('a delayed nack re-publishes every header type, and the copy keeps the delivery count', async () => {
    const queue = fresh('nack');
    const transport = new AmqpTransport({ url: RABBIT_URL });
    closers.push(() => transport.close());
    await transport.declareQueue({ name: queue });
    await publishTask(queue, 'headers.any', TYPED_HEADERS);
    const deliveries: { count: number; headers: Record<string, unknown> }[] = [];
    const failures: unknown[] = [];
    await transport.consume(
      queue,
      async (delivery) => {
        deliveries.push({ count: delivery.deliveryCount, headers: { ...delivery.message!.headers } });
        if (deliveries.length === 1) await delivery.nack({ delayMs: 1000 }).catch((e) => failures.push(e));
        else await delivery.ack();
      },
      { prefetch: 1 },
    );
    await expect
      .poll(() => deliveries.length + failures.length, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    expect(failures).toEqual([]);
    expect(deliveries.map((d) => d.count)).toEqual([1, 2]);
    const keys = Object.keys(READ_BACK);
    expect(pick(deliveries[1]!.headers, keys)).toEqual(READ_BACK);
    expect(deliveries[1]!.headers).not.toHaveProperty('x-conveyor-delivery-count');
  }, 30_000);

  it('a header that cannot be written back is dead-lettered with a readable reason; the worker carries on', async () => {
    const queue = fresh('unwritable');
    let healthyRan = 0;
    const failing = defineTask({
      name: 'headers.unwritable',
      queue,
      retry: { maxRetries: 3, initialDelayMs: 0, maxDelayMs: 0, jitter: 'none' },
      handler: () => {
        throw new Error('fails on purpose');
      },
    });
    const healthy = defineTask({
      name: 'headers.healthy',
      queue,
      handler: () => {
        healthyRan += 1;
      },
    });
    const transport = new AmqpTransport({ url: RABBIT_URL });
    const worker = new Worker({ transport, tasks: [failing, healthy], concurrency: 1 });
    worker.on('error', () => {});
    closers.push(
      () => transport.close(),
      () => worker.stop({ deadlineMs: 0 }),
    );
    await transport.declareQueue({ name: queue });
    await worker.start();
    // A timestamp beyond 2^53 is read back rounded up to 2^64, which no 64-bit field holds; and a
    // header table near amqplib's 64 KiB cannot take the dead-letter reason on top.
    const id = await publishTask(queue, 'headers.unwritable', {
      ts: { '!': 'timestamp', value: 2n ** 64n - 1n },
      huge: 'x'.repeat(65_000),
      kept: { '!': 'decimal', value: { places: 1, digits: 5 } },
    });
    await publishTask(queue, 'headers.healthy', {});
    const letter = await getRaw(`${queue}.dlq`, 15_000);
    expect(letter).not.toBeNull();
    const headers = letter!.properties.headers ?? {};
    expect(headers.id).toBe(id);
    expect(headers.kept).toEqual({ '!': 'decimal', value: { places: 1, digits: 5 } });
    expect(String(headers[DEAD_LETTER_REASON_HEADER])).toMatch(/header "ts"/);
    expect(String(headers[DEAD_LETTER_REASON_HEADER])).toMatch(/header "huge"/);
    expect(typeof headers.ts).toBe('string');
    await expect.poll(() => healthyRan, { timeout: 10_000 }).toBe(1);
  }, 30_000);

  it("Python's datetime, Decimal, bytes, float and 64-bit integer headers reach Python unchanged after a retry and a dead letter", async (ctx) => {
    const python = await ensurePythonCelery().catch((error: unknown) => {
      const reason = String((error as Error).message)
        .replace(/\s+/g, ' ')
        .slice(0, 500);
      skipOrFailInCi('the py-amqp header round trip', reason, (note) => ctx.skip(note));
      return '';
    });
    const queue = fresh('python');
    const failing = defineTask({
      name: 'headers.python',
      queue,
      retry: { maxRetries: 1, initialDelayMs: 1000, factor: 1, maxDelayMs: 1000, jitter: 'none' },
      handler: () => {
        throw new Error('fails on purpose');
      },
    });
    const transport = new AmqpTransport({ url: RABBIT_URL });
    const worker = new Worker({ transport, tasks: [failing], concurrency: 1 });
    const errors: unknown[] = [];
    worker.on('error', ({ error }) => errors.push(error));
    closers.push(
      () => transport.close(),
      () => worker.stop({ deadlineMs: 0 }),
    );
    await transport.declareQueue({ name: queue });
    await worker.start();
    const { stdout } = await promisify(execFile)(python, ['-c', PY_ROUND_TRIP, queue], {
      timeout: 30_000,
      env: { ...process.env, AMQP_URL: '127.0.0.1:5672' },
    });
    expect(errors).toEqual([]);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      when: ['datetime', '2023-11-14 22:13:20'],
      price: ['Decimal', '-3.14'],
      raw: ['bytes', "b'\\x00\\xff'"],
      ratio: ['float', '0.5'],
      whole: ['float', '2.5'],
      big: ['int', '1099511627776'],
      negbig: ['float', '-1099511627776.0'], // a double: py-amqp 5.1.1 reads l as unsigned
      small: ['int', '-7'],
      flag: ['bool', 'True'],
      nothing: ['NoneType', 'None'],
      nested: ['dict', "{'at': datetime.datetime(2020, 9, 13, 12, 26, 40)}"],
      items: ['list', "[Decimal('1.5'), 'a']"], // py-amqp writes bytes as S, and reads UTF-8 S as str
    });
  }, 60_000);
});

/**
 * py-amqp publishes a task with typed headers, waits for it in the dead-letter queue (after the
 * worker's retry through the delay ladder) and prints each header's Python type and repr.
 */
const PY_ROUND_TRIP = `
import json, os, sys, time
from datetime import datetime
from decimal import Decimal
import amqp
queue = sys.argv[1]
headers = {
  'lang': 'py', 'task': 'headers.python', 'id': 'py-' + queue, 'retries': 0,
  'when': datetime(2023, 11, 14, 22, 13, 20), 'price': Decimal('-3.14'), 'raw': b'\\x00\\xff',
  'ratio': 0.5, 'whole': 2.5, 'big': 2 ** 40, 'negbig': -(2 ** 40), 'small': -7, 'flag': True,
  'nothing': None, 'nested': {'at': datetime(2020, 9, 13, 12, 26, 40)}, 'items': [Decimal('1.5'), b'a'],
}
with amqp.Connection(os.environ['AMQP_URL']) as conn:
  ch = conn.channel()
  ch.confirm_select()
  ch.basic_publish(amqp.Message(b'[[], {}, {}]', content_type='application/json',
    content_encoding='utf-8', application_headers=headers, delivery_mode=2), routing_key=queue)
  deadline = time.time() + 20
  msg = None
  while msg is None and time.time() < deadline:
    msg = ch.basic_get(queue + '.dlq', no_ack=True)
    if msg is None: time.sleep(0.05)
  got = msg.headers if msg is not None else {}
  print(json.dumps({k: [type(got.get(k)).__name__, str(got.get(k)) if k in ('when', 'price', 'ratio', 'whole', 'big', 'negbig', 'small', 'flag', 'nothing') else repr(got.get(k))] for k in ['when', 'price', 'raw', 'ratio', 'whole', 'big', 'negbig', 'small', 'flag', 'nothing', 'nested', 'items']}))
`;
