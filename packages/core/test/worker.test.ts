import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  Client,
  DEAD_LETTER_REASON_HEADER,
  type Delivery,
  defineTask,
  InvalidOptionError,
  MemoryResultBackend,
  MemoryTransport,
  type MemoryTransportOptions,
  PermanentTaskError,
  RAW_CONTENT_TYPE,
  type ResultMeta,
  SoftTimeLimitExceededError,
  type Task,
  type TaskContext,
  TaskFailedError,
  TaskRevokedError,
  TaskValidationError,
  TimeLimitExceededError,
  Worker,
  type WorkerEvents,
  type WorkerOptions,
} from '../src/index.js';
import {
  decodeTaskMessage,
  encodeTaskMessage,
  MAX_VISIBILITY_EXTENSION_MS,
  TransportDelivery,
} from '../src/transport-authors.js';
import { collect, deferred, eventually, pause, uniqueBroker } from './helpers.js';

/** Retries that run at once and exactly: tests wait on events, not on backoff. */
const FAST_RETRY = { initialDelayMs: 10, factor: 1, maxDelayMs: 10, jitter: 'none' } as const;

interface Harness {
  broker: string;
  transport: MemoryTransport;
  results: MemoryResultBackend;
  client: Client;
  worker: Worker;
  /** Every worker event, in emission order. */
  events: { type: keyof WorkerEvents; payload: WorkerEvents[keyof WorkerEvents] }[];
}

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const EVENT_TYPES: (keyof WorkerEvents)[] = [
  'received',
  'started',
  'succeeded',
  'retried',
  'failed',
  'rejected',
  'revoked',
  'error',
];

/** A started worker and a client on a fresh in-memory broker, sharing one result backend. */
async function startWorker(
  tasks: Task[],
  options: Partial<WorkerOptions> & { broker?: string; transportOptions?: MemoryTransportOptions } = {},
): Promise<Harness> {
  const { broker = uniqueBroker('worker'), transportOptions = {}, ...workerOptions } = options;
  const transport = new MemoryTransport({ broker, ...transportOptions });
  const results = (workerOptions.results as MemoryResultBackend | undefined) ?? new MemoryResultBackend();
  const client = new Client({ transport, results });
  const worker = new Worker({ transport, tasks, results, retry: FAST_RETRY, ...workerOptions });
  const events: Harness['events'] = [];
  for (const type of EVENT_TYPES) worker.on(type, (payload) => events.push({ type, payload }));
  cleanups.push(async () => {
    await worker.stop({ deadlineMs: 0 });
    await transport.close();
  });
  await worker.start();
  return { broker, transport, results, client, worker, events };
}

/** Dead-lettered messages of `queue`, as they arrive. */
async function deadLetters(transport: MemoryTransport, queue = 'celery'): Promise<Delivery[]> {
  return collect(transport, `${queue}.dlq`);
}

const reasonOf = (delivery: Delivery): unknown => delivery.message?.headers[DEAD_LETTER_REASON_HEADER];
const typesOf = (h: Harness): string[] => h.events.map((e) => e.type);

const add = defineTask({
  name: 'tasks.add',
  handler: ([a, b]: [number, number]) => a + b,
});

describe('Worker: success', () => {
  it('runs the task, stores a Celery SUCCESS document and resolves the handle', async () => {
    const h = await startWorker([add]);
    const handle = await h.client.send(add, [2, 3]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(5);

    const meta = (await h.results.get(handle.id)) as ResultMeta;
    expect(meta).toMatchObject({
      status: 'SUCCESS',
      result: 5,
      traceback: null,
      children: [],
      name: 'tasks.add',
      args: [2, 3],
      kwargs: {},
      worker: h.worker.hostname,
      retries: 0,
      queue: 'celery',
      task_id: handle.id,
    });
    expect(meta.date_done).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(Object.keys(meta).at(-1)).toBe('task_id');
    expect(await handle.state()).toBe('SUCCESS');
    await eventually(async () =>
      expect(await h.transport.queueDepth('celery')).toEqual({ ready: 0, inFlight: 0, delayed: 0 }),
    );
  });

  it('stores null for a handler that returns nothing', async () => {
    const noop = defineTask({ name: 'tasks.noop', handler: () => undefined });
    const h = await startWorker([noop]);
    const handle = await h.client.send(noop, []);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBeNull();
  });

  it('gives the handler its context: id, name, retries, deliveryCount, kwargs and extra headers', async () => {
    const seen = deferred<TaskContext>();
    const inspect = defineTask({
      name: 'tasks.inspect',
      handler: (_args: [], context) => {
        seen.resolve(context);
      },
    });
    const h = await startWorker([inspect]);
    const handle = await h.client.send(inspect, [], {
      kwargs: { verbose: true },
      headers: { 'x-tenant': 'acme' },
    });
    const context = await seen.promise;
    expect(context.id).toBe(handle.id);
    expect(context.name).toBe('tasks.inspect');
    expect(context.retries).toBe(0);
    expect(context.deliveryCount).toBe(1);
    expect(context.kwargs).toEqual({ verbose: true });
    expect(context.headers).toEqual({ 'x-tenant': 'acme' });
    expect(context.signal.aborted).toBe(false);
  });

  it('stores nothing for a task with ignoreResult', async () => {
    const ran = deferred();
    const quiet = defineTask({ name: 'tasks.quiet', ignoreResult: true, handler: () => ran.resolve() });
    const h = await startWorker([quiet]);
    const handle = await h.client.send(quiet, []);
    await ran.promise;
    await eventually(() => expect(typesOf(h)).toContain('succeeded'));
    expect(await h.results.get(handle.id)).toBeNull();
    expect(await handle.state()).toBe('PENDING');
  });

  it('stores STARTED with pid and hostname while running when trackStarted is set', async () => {
    const release = deferred();
    const slow = defineTask({ name: 'tasks.slow', handler: () => release.promise });
    const h = await startWorker([slow], { trackStarted: true, hostname: 'w1@test' });
    const handle = await h.client.send(slow, []);
    await eventually(async () => expect(await handle.state()).toBe('STARTED'));
    expect((await h.results.get(handle.id))?.result).toEqual({ pid: process.pid, hostname: 'w1@test' });
    expect((await h.results.get(handle.id))?.date_done).toBeNull();
    release.resolve();
    await expect(handle.get({ timeout: 10_000 })).resolves.toBeNull();
  });

  it('does not run a task sent with a countdown before it is due', async () => {
    const ranAt = deferred<number>();
    const later = defineTask({ name: 'tasks.later', handler: () => ranAt.resolve(Date.now()) });
    const h = await startWorker([later]);
    const sentAt = Date.now();
    await h.client.send(later, [], { countdownMs: 150 });
    expect(await ranAt.promise).toBeGreaterThanOrEqual(sentAt + 145);
  });
});

describe('Worker: retries and failures', () => {
  it('re-publishes a failing task with retries + 1, then dead-letters it after maxRetries', async () => {
    const attempts: number[] = [];
    const flaky = defineTask({
      name: 'tasks.flaky',
      retry: { maxRetries: 2 },
      handler: (_args: [], context) => {
        attempts.push(context.retries);
        throw new TypeError('boom');
      },
    });
    const h = await startWorker([flaky]);
    const publish = vi.spyOn(h.transport, 'publish');
    const dead = await deadLetters(h.transport);
    const handle = await h.client.send(flaky, []);

    const error = await handle.get({ timeout: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).exception).toEqual({
      exc_type: 'TypeError',
      exc_message: ['boom'],
      exc_module: 'builtins',
    });
    expect(attempts).toEqual([0, 1, 2]);

    // The client's publish, then one re-publish per retry, each with the next retries count.
    const republished = publish.mock.calls.slice(1).map(([, wire]) => decodeTaskMessage(wire));
    expect(republished.map((m) => m.retries)).toEqual([1, 2]);
    for (const message of republished) {
      expect(message.id).toBe(handle.id);
      expect(message.eta).toBeInstanceOf(Date);
    }
    expect(publish.mock.calls.slice(1).map(([, , options]) => options?.delayMs)).toEqual([10, 10]);

    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/gave up after 2 retries: TypeError: boom/);
    expect(dead[0]!.message?.headers.id).toBe(handle.id);

    const meta = (await h.results.get(handle.id)) as ResultMeta;
    expect(meta.status).toBe('FAILURE');
    expect(meta.retries).toBe(2);
    expect(meta.traceback).toContain('boom');
    expect(meta.date_done).not.toBeNull();
    await eventually(() => expect(typesOf(h)).toContain('rejected'));
    expect(
      h.events.filter((e) => e.type === 'retried').map((e) => (e.payload as WorkerEvents['retried']).retries),
    ).toEqual([1, 2]);
    expect(h.events.filter((e) => e.type === 'failed')).toHaveLength(1);
  });

  it('waits the retry delay before the next attempt', async () => {
    const attemptTimes: number[] = [];
    const flaky = defineTask({
      name: 'tasks.flaky',
      retry: { maxRetries: 1, initialDelayMs: 120, maxDelayMs: 120, jitter: 'none' },
      handler: () => {
        attemptTimes.push(Date.now());
        if (attemptTimes.length === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    const h = await startWorker([flaky]);
    const handle = await h.client.send(flaky, []);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe('ok');
    expect(attemptTimes[1]! - attemptTimes[0]!).toBeGreaterThanOrEqual(115);
  });

  it('succeeds on a retry and dead-letters nothing', async () => {
    let calls = 0;
    const flaky = defineTask({
      name: 'tasks.flaky',
      handler: () => {
        calls += 1;
        if (calls < 3) throw new Error(`attempt ${calls}`);
        return calls;
      },
    });
    const h = await startWorker([flaky]);
    const handle = await h.client.send(flaky, []);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(3);
    expect((await h.results.get(handle.id))?.retries).toBe(2);
    expect(await h.transport.queueDepth('celery.dlq')).toMatchObject({ ready: 0 });
  });

  it('sends a task that throws PermanentTaskError straight to the dead-letter queue', async () => {
    let calls = 0;
    const doomed = defineTask({
      name: 'tasks.doomed',
      retry: { maxRetries: 5 },
      handler: () => {
        calls += 1;
        throw new PermanentTaskError('bad input');
      },
    });
    const h = await startWorker([doomed]);
    const dead = await deadLetters(h.transport);
    const handle = await h.client.send(doomed, []);
    await expect(handle.get({ timeout: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/permanent failure: PermanentTaskError: bad input/);
    expect(calls).toBe(1);
    expect(typesOf(h)).not.toContain('retried');
  });

  it('fails a task with maxRetries 0 at the first error', async () => {
    let calls = 0;
    const once = defineTask({
      name: 'tasks.once',
      retry: { maxRetries: 0 },
      handler: () => {
        calls += 1;
        throw new Error('no');
      },
    });
    const h = await startWorker([once]);
    const handle = await h.client.send(once, []);
    await expect(handle.get({ timeout: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    expect(calls).toBe(1);
  });

  it('stores a thrown non-Error as an Exception with its string form', async () => {
    const weird = defineTask({
      name: 'tasks.weird',
      retry: { maxRetries: 0 },
      handler: () => {
        throw 'just a string';
      },
    });
    const h = await startWorker([weird]);
    const handle = await h.client.send(weird, []);
    const error = (await handle.get({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailedError;
    expect(error.exception).toEqual({
      exc_type: 'Exception',
      exc_message: ['just a string'],
      exc_module: 'builtins',
    });
  });

  it('retries on a transport without delays by holding the task until its eta', async () => {
    const attemptTimes: number[] = [];
    const flaky = defineTask({
      name: 'tasks.flaky',
      retry: { maxRetries: 1, initialDelayMs: 60, maxDelayMs: 60, jitter: 'none' },
      handler: (_args: [], context) => {
        attemptTimes.push(Date.now());
        if (context.retries === 0) throw new Error('first attempt fails');
        return context.retries;
      },
    });
    const h = await startWorker([flaky], {
      transportOptions: { restrictCapabilities: { delay: { mode: 'none' } } },
    });
    const handle = await h.client.send(flaky, []);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(1);
    expect(attemptTimes).toHaveLength(2);
    expect(attemptTimes[1]! - attemptTimes[0]!).toBeGreaterThanOrEqual(55);
    expect(typesOf(h)).not.toContain('error');
  });

  it('retries with a delay longer than the transport allows in one hop', async () => {
    const attemptTimes: number[] = [];
    const flaky = defineTask({
      name: 'tasks.flaky',
      retry: { maxRetries: 1, initialDelayMs: 150, maxDelayMs: 150, jitter: 'none' },
      handler: (_args: [], context) => {
        attemptTimes.push(Date.now());
        if (context.retries === 0) throw new Error('first attempt fails');
        return 'done';
      },
    });
    const h = await startWorker([flaky], {
      transportOptions: { restrictCapabilities: { delay: { maxDelayMs: 40 } } },
    });
    const handle = await h.client.send(flaky, []);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe('done');
    expect(attemptTimes[1]! - attemptTimes[0]!).toBeGreaterThanOrEqual(145);
    expect(typesOf(h)).not.toContain('error');
  });
});

describe('Worker: expiry and time limits', () => {
  it('revokes an expired task without running it', async () => {
    let calls = 0;
    const stale = defineTask({ name: 'tasks.stale', handler: () => (calls += 1) });
    const h = await startWorker([stale]);
    const dead = await deadLetters(h.transport);
    const handle = await h.client.send(stale, [], { expires: new Date(Date.now() - 1000) });

    const error = await handle.get({ timeout: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskRevokedError);
    expect((error as TaskRevokedError).why).toBe('expired');
    const meta = (await h.results.get(handle.id)) as ResultMeta;
    expect(meta.status).toBe('REVOKED');
    expect(meta.result).toEqual({
      exc_type: 'TaskRevokedError',
      exc_message: ['expired'],
      exc_module: 'celery.exceptions',
    });
    await eventually(() => expect(typesOf(h)).toContain('revoked'));
    expect(calls).toBe(0);
    expect(typesOf(h)).not.toContain('started');
    await pause(20);
    expect(dead).toHaveLength(0);
    expect(await h.transport.queueDepth('celery')).toEqual({ ready: 0, inFlight: 0, delayed: 0 });
  });

  it('runs a task whose expiry (in ms from now) has not passed', async () => {
    const h = await startWorker([add]);
    const handle = await h.client.send(add, [1, 1], { expires: 60_000 });
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(2);
  });

  it('aborts the handler signal with SoftTimeLimitExceededError at the soft limit and lets it finish', async () => {
    const reason = deferred<unknown>();
    const polite = defineTask({
      name: 'tasks.polite',
      timeLimit: { softMs: 50 },
      handler: async (_args: [], { signal }) => {
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        reason.resolve(signal.reason);
        return 'cleaned up';
      },
    });
    const h = await startWorker([polite]);
    const handle = await h.client.send(polite, []);
    expect(await reason.promise).toBeInstanceOf(SoftTimeLimitExceededError);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe('cleaned up');
  });

  it('takes the soft limit from the message header (seconds, [hard, soft])', async () => {
    const reason = deferred<unknown>();
    const plain = defineTask({
      name: 'tasks.plain',
      handler: async (_args: [], { signal }) => {
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        reason.resolve(signal.reason);
        return 'stopped';
      },
    });
    const h = await startWorker([plain]);
    const publish = vi.spyOn(h.transport, 'publish');
    const handle = await h.client.send(plain, [], { timeLimit: { softMs: 50, hardMs: 60_000 } });
    expect(publish.mock.calls[0]![1].headers.timelimit).toEqual([60, 0.05]);
    expect(await reason.promise).toBeInstanceOf(SoftTimeLimitExceededError);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe('stopped');
  });

  it('fails the attempt with TimeLimitExceeded at the hard limit', async () => {
    const reason = deferred<unknown>();
    const stuck = defineTask({
      name: 'tasks.stuck',
      timeLimit: { hardMs: 50 },
      retry: { maxRetries: 0 },
      handler: async (_args: [], { signal }) => {
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        reason.resolve(signal.reason);
        return 'too late';
      },
    });
    const h = await startWorker([stuck]);
    const dead = await deadLetters(h.transport);
    const handle = await h.client.send(stuck, []);
    const error = await handle.get({ timeout: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).exception).toMatchObject({
      exc_type: 'TimeLimitExceeded',
      exc_module: 'celery.exceptions',
    });
    expect(await reason.promise).toBeInstanceOf(TimeLimitExceededError);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/TimeLimitExceededError/);
    expect((await h.results.get(handle.id))?.status).toBe('FAILURE');
  });
});

describe('Worker: messages it cannot run', () => {
  it('dead-letters an undecodable payload and keeps processing later tasks', async () => {
    const h = await startWorker([add]);
    const dead = await deadLetters(h.transport);
    await h.transport.publishRaw('celery', new TextEncoder().encode('{{{ garbage'));
    const handle = await h.client.send(add, [20, 22]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(42);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/malformed message/);
    expect(new TextDecoder().decode(dead[0]!.message?.body)).toBe('{{{ garbage');
    const rejected = h.events.find((e) => e.type === 'rejected')?.payload as WorkerEvents['rejected'];
    expect(rejected).toMatchObject({ taskId: undefined, name: undefined, queue: 'celery' });
  });

  it('on a transport without dead-lettering, core stores the undecodable bytes unchanged in <queue>.dlq', async () => {
    const h = await startWorker([add], { transportOptions: { restrictCapabilities: { deadLetter: false } } });
    expect(h.transport.capabilities.deadLetter).toBe(false);
    const dead = await deadLetters(h.transport);
    const garbage = Uint8Array.from([0xff, 0x00, 0x7b, 0x80, 0xfe]);
    await h.transport.publishRaw('celery', garbage);
    const handle = await h.client.send(add, [1, 1]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(2);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(dead[0]!.message?.properties.content_type).toBe(RAW_CONTENT_TYPE);
    expect([...(dead[0]!.message?.body ?? [])]).toEqual([...garbage]);
    expect(reasonOf(dead[0]!)).toMatch(/malformed message/);
  });

  it('dead-letters a decodable message that is not a Celery task, with the reason', async () => {
    const h = await startWorker([add]);
    const dead = await deadLetters(h.transport);
    await h.transport.publish('celery', {
      headers: { id: 'no-task-header' },
      properties: { content_type: 'application/json', content_encoding: 'utf-8' },
      body: new TextEncoder().encode('[[1], {}, null]'),
    });
    await h.transport.publish('celery', {
      headers: { id: 'bad-body', task: 'tasks.add' },
      properties: { content_type: 'application/json', content_encoding: 'utf-8' },
      body: new TextEncoder().encode('{"args": [1, 2]}'),
    });
    const handle = await h.client.send(add, [1, 2]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(3);
    await eventually(() => expect(dead).toHaveLength(2));
    expect(dead.map(reasonOf)).toEqual([
      expect.stringMatching(/header "task" is missing/),
      expect.stringMatching(/body must be/),
    ]);
  });

  it('dead-letters a task sent with content_encoding gzip, naming the encoding, and runs nothing', async () => {
    let calls = 0;
    const counted = defineTask({ name: 'tasks.counted', handler: () => (calls += 1) });
    const h = await startWorker([counted, add]);
    const dead = await deadLetters(h.transport);
    const wire = encodeTaskMessage({ id: 'gzipped', task: 'tasks.counted', args: [] });
    await h.transport.publish('celery', {
      ...wire,
      properties: { ...wire.properties, content_encoding: 'gzip' },
    });
    const handle = await h.client.send(add, [1, 2]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(3);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/content encoding "gzip" is not supported/);
    expect(dead[0]!.message?.headers.id).toBe('gzipped');
    expect(dead[0]!.message?.properties.content_encoding).toBe('gzip');
    expect(calls).toBe(0);
    expect(await h.transport.queueDepth('celery')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  it('dead-letters a task header of the wrong type with a reason naming the type, not "missing"', async () => {
    const h = await startWorker([add]);
    const dead = await deadLetters(h.transport);
    for (const task of [42, { name: 'tasks.add' }]) {
      await h.transport.publish('celery', {
        headers: { id: `task-is-${typeof task}`, task },
        properties: { content_type: 'application/json', content_encoding: 'utf-8' },
        body: new TextEncoder().encode('[[1, 2], {}, null]'),
      });
    }
    await eventually(() => expect(dead).toHaveLength(2));
    expect(dead.map(reasonOf)).toEqual([
      expect.stringMatching(/header "task" has the wrong type: number/),
      expect.stringMatching(/header "task" has the wrong type: object/),
    ]);
    expect(dead.map(reasonOf).join()).not.toMatch(/missing/);
  });

  it('dead-letters a task name it does not know and stores NotRegistered', async () => {
    const h = await startWorker([add]);
    const dead = await deadLetters(h.transport);
    const handle = await h.client.send('tasks.nobody', [1]);
    const error = await handle.get({ timeout: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).exception).toMatchObject({
      exc_type: 'NotRegistered',
      exc_module: 'celery.exceptions',
    });
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/"tasks.nobody" is not registered/);
    expect(h.events.find((e) => e.type === 'rejected')?.payload).toMatchObject({ name: 'tasks.nobody' });
  });
});

describe('Worker: argument validation with Standard Schema', () => {
  const schemas = [
    ['zod', z.tuple([z.number(), z.number()])],
    ['valibot', v.tuple([v.number(), v.number()])],
  ] as const;

  describe.each(schemas)('with %s', (_library, schema) => {
    const sum = defineTask({ name: 'math.sum', schema, handler: ([a, b]) => a + b });

    it('runs valid arguments', async () => {
      const h = await startWorker([sum]);
      const handle = await h.client.send(sum, [4, 5]);
      await expect(handle.get({ timeout: 10_000 })).resolves.toBe(9);
    });

    it('rejects invalid arguments at client.send with TaskValidationError and publishes nothing', async () => {
      const h = await startWorker([sum]);
      const publish = vi.spyOn(h.transport, 'publish');
      const error = await h.client
        .send(sum, ['four', 5] as unknown as [number, number])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskValidationError);
      expect((error as TaskValidationError).code).toBe('VALIDATION_FAILED');
      expect((error as TaskValidationError).issues[0]?.path).toEqual([0]);
      expect((error as TaskValidationError).message).toContain('math.sum');
      expect(publish).not.toHaveBeenCalled();
    });

    it('dead-letters invalid arguments sent by name, bypassing client validation', async () => {
      let calls = 0;
      const counted = defineTask({
        name: 'math.sum',
        schema,
        handler: ([a, b]) => {
          calls += 1;
          return a + b;
        },
      });
      const h = await startWorker([counted]);
      const dead = await deadLetters(h.transport);
      const handle = await h.client.send('math.sum', ['four', 5]);
      const error = await handle.get({ timeout: 10_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskFailedError);
      expect((error as TaskFailedError).exception.exc_type).toBe('TaskValidationError');
      await eventually(() => expect(dead).toHaveLength(1));
      expect(reasonOf(dead[0]!)).toMatch(/arguments of task "math.sum" are invalid/);
      expect(calls).toBe(0);
      expect(typesOf(h)).not.toContain('retried');
    });
  });
});

describe('Worker: transforming schemas', () => {
  it.each([
    ['zod', z.tuple([z.string().transform((s) => s.length)])],
    [
      'valibot',
      v.tuple([
        v.pipe(
          v.string(),
          v.transform((s) => s.length),
        ),
      ]),
    ],
  ] as const)(
    'applies a %s transform once: the client sends the input, the handler gets the output',
    async (_library, schema) => {
      const length = defineTask({ name: 'text.length', schema, handler: ([n]) => n * 10 });
      const h = await startWorker([length]);
      const publish = vi.spyOn(h.transport, 'publish');
      // The client takes the schema's input type; the handler gets its output type.
      const handle = await h.client.send(length, ['abcd']);
      // @ts-expect-error the output type is not what the client sends
      await expect(h.client.send(length, [4])).rejects.toThrow(/invalid/);
      expect(decodeTaskMessage(publish.mock.calls[0]![1]).args).toEqual(['abcd']);
      await expect(handle.get({ timeout: 10_000 })).resolves.toBe(40);
    },
  );
});

describe('Worker: concurrency', () => {
  async function measureConcurrency(
    tasks: Task[],
    send: (client: Client) => Promise<unknown>,
    concurrency: number,
  ) {
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const track = async (): Promise<void> => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await pause(5 + Math.floor(Math.random() * 10));
      running -= 1;
      done += 1;
    };
    const h = await startWorker(
      tasks.map((t) => defineTask({ name: t.name, queue: t.queue, handler: track })),
      { concurrency },
    );
    await send(h.client);
    return { h, maxRunning: () => maxRunning, done: () => done };
  }

  it('never runs more handlers at once than its concurrency', async () => {
    const task = defineTask({ name: 'tasks.busy', handler: () => undefined });
    const { h, maxRunning, done } = await measureConcurrency(
      [task],
      (client) =>
        client.sendMany(
          'tasks.busy',
          Array.from({ length: 20 }, () => []),
        ),
      3,
    );
    await eventually(() => expect(done()).toBe(20));
    expect(maxRunning()).toBe(3);
    expect(h.worker.running).toBe(0);
  });

  it('shares one concurrency bound between several queues', async () => {
    const a = defineTask({ name: 'tasks.a', queue: 'qa', handler: () => undefined });
    const b = defineTask({ name: 'tasks.b', queue: 'qb', handler: () => undefined });
    const { h, maxRunning, done } = await measureConcurrency(
      [a, b],
      async (client) => {
        await client.sendMany(
          'tasks.a',
          Array.from({ length: 10 }, () => []),
          { queue: 'qa' },
        );
        await client.sendMany(
          'tasks.b',
          Array.from({ length: 10 }, () => []),
          { queue: 'qb' },
        );
      },
      2,
    );
    expect(h.worker.queues).toEqual(['qa', 'qb']);
    await eventually(() => expect(done()).toBe(20));
    expect(maxRunning()).toBe(2);
  });
});

describe('Worker: lifecycle events', () => {
  it('emits received, started, succeeded for a success', async () => {
    const h = await startWorker([add]);
    const handle = await h.client.send(add, [1, 2]);
    await eventually(() => expect(typesOf(h)).toContain('succeeded'));
    expect(typesOf(h)).toEqual(['received', 'started', 'succeeded']);
    expect(h.events[0]!.payload).toMatchObject({
      taskId: handle.id,
      name: 'tasks.add',
      deliveryCount: 1,
      retries: 0,
      queue: 'celery',
    });
    expect(h.events[2]!.payload).toMatchObject({ taskId: handle.id, result: 3 });
  });

  it('emits retried, then failed and rejected when retries run out', async () => {
    const failing = defineTask({
      name: 'tasks.failing',
      retry: { maxRetries: 1 },
      handler: () => {
        throw new Error('nope');
      },
    });
    const h = await startWorker([failing]);
    await h.client.send(failing, []);
    await eventually(() => expect(typesOf(h)).toContain('rejected'));
    expect(typesOf(h)).toEqual([
      'received',
      'started',
      'retried',
      'received',
      'started',
      'failed',
      'rejected',
    ]);
    expect(h.events[2]!.payload).toMatchObject({ retries: 1, delayMs: 10 });
    expect(h.events[3]!.payload).toMatchObject({ retries: 1 });
  });

  it('emits received then revoked for an expired task', async () => {
    const h = await startWorker([add]);
    await h.client.send(add, [1, 2], { expires: new Date(Date.now() - 1) });
    await eventually(() => expect(typesOf(h)).toContain('revoked'));
    expect(typesOf(h)).toEqual(['received', 'revoked']);
  });

  it('keeps working when a listener throws', async () => {
    const h = await startWorker([add]);
    h.worker.on('started', () => {
      throw new Error('listener bug');
    });
    const onUncaught = vi.fn();
    process.on('uncaughtException', onUncaught);
    try {
      const handle = await h.client.send(add, [2, 2]);
      await expect(handle.get({ timeout: 10_000 })).resolves.toBe(4);
      // The listener's error is rethrown outside the worker, not swallowed.
      await eventually(() =>
        expect(onUncaught).toHaveBeenCalledWith(
          expect.objectContaining({ message: 'listener bug' }),
          expect.anything(),
        ),
      );
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

describe('Worker: graceful stop', () => {
  it('acks a task that finishes within the deadline and gives back one that does not', async () => {
    const fastGate = deferred();
    const slowAborted = deferred<unknown>();
    const fast = defineTask({
      name: 'tasks.fast',
      handler: async () => fastGate.promise.then(() => 'fast done'),
    });
    const slow = defineTask({
      name: 'tasks.slow',
      handler: async (_args: [], { signal }) => {
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        slowAborted.resolve(signal.reason);
        throw signal.reason;
      },
    });
    const first = await startWorker([fast, slow], { concurrency: 2 });
    const fastHandle = await first.client.send(fast, []);
    const slowHandle = await first.client.send(slow, []);
    await eventually(() => expect(first.events.filter((e) => e.type === 'started')).toHaveLength(2));

    const stopping = first.worker.stop({ deadlineMs: 500 });
    fastGate.resolve();
    expect(await stopping).toEqual({ finished: 1, returned: 1 });
    expect(await slowAborted.promise).toBeInstanceOf(Error);
    await expect(fastHandle.get({ timeout: 10_000 })).resolves.toBe('fast done');
    expect(await slowHandle.state()).toBe('PENDING');
    expect(await first.transport.queueDepth('celery')).toEqual({ ready: 1, inFlight: 0, delayed: 0 });

    // A new worker, on another connection to the same broker, gets the slow task again.
    const deliveryCounts: number[] = [];
    const slowAgain = defineTask({
      name: 'tasks.slow',
      handler: (_args: [], context) => {
        deliveryCounts.push(context.deliveryCount);
        return 'slow done';
      },
    });
    const second = await startWorker([fast, slowAgain], { broker: first.broker, results: first.results });
    await expect(slowHandle.get({ timeout: 10_000 })).resolves.toBe('slow done');
    expect(deliveryCounts).toEqual([2]);
    expect(second.events.some((e) => e.type === 'error')).toBe(false);
    await eventually(async () =>
      expect(await second.transport.queueDepth('celery')).toEqual({ ready: 0, inFlight: 0, delayed: 0 }),
    );
  });

  it('gives back a task that was prefetched but not started', async () => {
    const gate = deferred();
    const a = defineTask({ name: 'tasks.a', queue: 'qa', handler: () => gate.promise });
    const b = defineTask({ name: 'tasks.b', queue: 'qb', handler: () => gate.promise });
    const first = await startWorker([a, b], { concurrency: 1 });
    const ha = await first.client.send(a, []);
    const hb = await first.client.send(b, []);
    await eventually(() => expect(first.events.filter((e) => e.type === 'started')).toHaveLength(1));
    await pause(20);
    expect(first.worker.running).toBe(1);

    const stopping = first.worker.stop({ deadlineMs: 5_000 });
    gate.resolve();
    expect(await stopping).toEqual({ finished: 1, returned: 1 });

    const doneA = defineTask({ name: 'tasks.a', queue: 'qa', handler: () => 'a' });
    const doneB = defineTask({ name: 'tasks.b', queue: 'qb', handler: () => 'b' });
    await startWorker([doneA, doneB], { broker: first.broker, results: first.results });
    // One task ran to the end on the first worker (result null), the other on the second.
    const results = await Promise.all(
      [ha.id, hb.id].map((id) => first.client.result<string | null>(id).get({ timeout: 10_000 })),
    );
    expect(results.filter((r) => r === null)).toHaveLength(1);
    expect(results.filter((r) => r === 'a' || r === 'b')).toHaveLength(1);
  });

  it('reports nothing when stopped before it started, and refuses a second start', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    cleanups.push(() => transport.close());
    const idle = new Worker({ transport, tasks: [add] });
    expect(await idle.stop()).toEqual({ finished: 0, returned: 0 });
    const h = await startWorker([add]);
    await expect(h.worker.start()).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('Worker and Client options', () => {
  const transport = new MemoryTransport({ broker: uniqueBroker('options') });

  function optionError(make: () => unknown): InvalidOptionError {
    try {
      make();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionError);
      return error as InvalidOptionError;
    }
    throw new Error('expected InvalidOptionError');
  }

  it.each<[string, () => unknown, string]>([
    [
      'an unknown option',
      () => new Worker({ transport, tasks: [add], concurency: 2 } as WorkerOptions),
      'concurency',
    ],
    ['no transport', () => new Worker({ tasks: [add] } as unknown as WorkerOptions), 'transport'],
    ['concurrency 0', () => new Worker({ transport, tasks: [add], concurrency: 0 }), 'concurrency'],
    [
      'a fractional concurrency',
      () => new Worker({ transport, tasks: [add], concurrency: 1.5 }),
      'concurrency',
    ],
    ['no tasks', () => new Worker({ transport, tasks: [] }), 'tasks'],
    ['a task listed twice', () => new Worker({ transport, tasks: [add, add] }), 'tasks'],
    ['no queues', () => new Worker({ transport, tasks: [add], queues: [] }), 'queues'],
    [
      'a negative shutdown deadline',
      () => new Worker({ transport, tasks: [add], shutdownDeadlineMs: -1 }),
      'shutdownDeadlineMs',
    ],
    [
      'a bad default retry policy',
      () => new Worker({ transport, tasks: [add], retry: { maxRetries: -1 } }),
      'retry.maxRetries',
    ],
    [
      "a bad task's retry policy",
      () =>
        new Worker({
          transport,
          tasks: [defineTask({ name: 'tasks.bad', retry: { factor: 0 }, handler: () => undefined })],
        }),
      'tasks.bad.retry.factor',
    ],
  ])('Worker throws InvalidOptionError for %s, naming the option', (_case, make, option) => {
    const error = optionError(make);
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
  });

  it.each<[string, () => unknown, string]>([
    ['an unknown option', () => new Client({ transport, resultz: 1 } as never), 'resultz'],
    ['no transport', () => new Client({} as never), 'transport'],
  ])('Client throws InvalidOptionError for %s, naming the option', (_case, make, option) => {
    expect(optionError(make).option).toBe(option);
  });

  it.each<[string, () => unknown, string]>([
    ['an empty name', () => defineTask({ name: ' ', handler: () => 1 }), 'name'],
    ['no handler', () => defineTask({ name: 'x' } as never), 'handler'],
    [
      'a schema that is not a Standard Schema',
      () => defineTask({ name: 'x', schema: {} as never, handler: () => 1 }),
      'schema',
    ],
    [
      'a zero soft time limit',
      () => defineTask({ name: 'x', timeLimit: { softMs: 0 }, handler: () => 1 }),
      'timeLimit.softMs',
    ],
    [
      'an infinite hard time limit',
      () => defineTask({ name: 'x', timeLimit: { hardMs: Infinity }, handler: () => 1 }),
      'timeLimit.hardMs',
    ],
  ])('defineTask throws InvalidOptionError for %s', (_case, make, option) => {
    expect(optionError(make).option).toBe(option);
  });

  it('refuses a taskId when sending several tasks', async () => {
    const client = new Client({ transport: new MemoryTransport({ broker: uniqueBroker() }) });
    await expect(
      client.sendMany(
        add,
        [
          [1, 2],
          [3, 4],
        ],
        { taskId: 'same' },
      ),
    ).rejects.toMatchObject({
      option: 'taskId',
    });
  });
});

describe('Worker: contract refinements', () => {
  it('dead-letters through core when the transport claims no dead-lettering', async () => {
    const boom = defineTask({
      name: 'boom',
      retry: { maxRetries: 0 },
      handler: () => Promise.reject(new Error('nope')),
    });
    const ok = defineTask({ name: 'ok', handler: () => 'fine' });
    const h = await startWorker([boom, ok], {
      transportOptions: { restrictCapabilities: { deadLetter: false } },
    });
    expect(h.transport.capabilities.deadLetter).toBe(false);
    await h.client.send(boom, []);
    const later = await h.client.send(ok, []);
    await expect(later.get({ timeout: 10_000 })).resolves.toBe('fine');
    const letters = await deadLetters(h.transport);
    await eventually(() => expect(letters).toHaveLength(1));
    expect(String(letters[0]!.message?.headers[DEAD_LETTER_REASON_HEADER])).toMatch(/nope/);
    expect(letters[0]!.message?.headers.task).toBe('boom');
    expect(await h.transport.queueDepth('celery')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  it('stores no FAILURE for an ignoreResult task (Celery stores nothing)', async () => {
    const quiet = defineTask({
      name: 'quiet',
      ignoreResult: true,
      retry: { maxRetries: 0 },
      handler: () => Promise.reject(new Error('x')),
    });
    const h = await startWorker([quiet]);
    const handle = await h.client.send(quiet, []);
    await eventually(() => expect(h.events.map((e) => e.type)).toContain('rejected'));
    expect(await h.results.get(handle.id)).toBeNull();
  });

  it('keeps the ordering key when it re-publishes a retry', async () => {
    let attempts = 0;
    const keys: (string | undefined)[] = [];
    const flaky = defineTask({
      name: 'flaky-keyed',
      handler: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('first');
        return attempts;
      },
    });
    const h = await startWorker([flaky]);
    h.worker.on('received', () => {});
    const spy = vi.spyOn(h.transport, 'publish');
    const handle = await h.client.send(flaky, [], { orderingKey: 'customer-7' });
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(2);
    for (const call of spy.mock.calls) keys.push(call[2]?.orderingKey);
    expect(keys).toEqual(['customer-7', 'customer-7']);
  });

  it('keeps an explicit priority 0 on a retry instead of dropping it', async () => {
    let attempts = 0;
    const flaky = defineTask({
      name: 'flaky-low',
      handler: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('first');
        return attempts;
      },
    });
    const h = await startWorker([flaky]);
    const spy = vi.spyOn(h.transport, 'publish');
    const handle = await h.client.send(flaky, [], { priority: 0 });
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(2);
    expect(spy.mock.calls.map((c) => c[2]?.priority)).toEqual([0, 0]);
  });

  it('can be started again after a failed start', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('restart') });
    const task = defineTask({ name: 't', handler: () => 1 });
    const worker = new Worker({ transport, tasks: [task] });
    const connect = vi.spyOn(transport, 'connect').mockRejectedValueOnce(new Error('broker down'));
    await expect(worker.start()).rejects.toThrow('broker down');
    await worker.start();
    expect(connect).toHaveBeenCalledTimes(2);
    await worker.stop();
    await transport.close();
  });
});

describe('Client: connection', () => {
  it('connects again on the next send after a failed connect', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('client-reconnect') });
    const connect = vi.spyOn(transport, 'connect').mockRejectedValueOnce(new Error('refused'));
    const client = new Client({ transport });
    const task = defineTask({ name: 't', handler: () => 1 });
    await expect(client.send(task, [])).rejects.toThrow('refused');
    await client.send(task, []);
    expect(connect).toHaveBeenCalledTimes(2);
    expect((await transport.queueDepth('celery')).ready).toBe(1);
    await transport.close();
  });
});

describe('Worker: visibility heartbeat', () => {
  it('extends a long task by at most the 12-hour cap when the visibility timeout is longer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const extended = vi.spyOn(TransportDelivery.prototype, 'extendVisibility');
    try {
      const transport = new MemoryTransport({ broker: uniqueBroker(), visibilityTimeoutMs: 13 * 3_600_000 });
      const started = deferred();
      const gate = deferred();
      const task = defineTask({
        name: 'long',
        handler: async () => {
          started.resolve();
          await gate.promise;
        },
      });
      const worker = new Worker({ transport, tasks: [task], concurrency: 1 });
      const errors: unknown[] = [];
      worker.on('error', ({ error }) => errors.push(error));
      await worker.start();
      await new Client({ transport }).send(task, []);
      await started.promise;
      // The heartbeat runs every third of the capped timeout: 4 hours.
      vi.advanceTimersByTime(4 * 3_600_000 + 1);
      await Promise.resolve();
      expect(extended.mock.calls).toEqual([[MAX_VISIBILITY_EXTENSION_MS]]);
      gate.resolve();
      await worker.stop();
      await transport.close();
      expect(errors).toEqual([]);
    } finally {
      extended.mockRestore();
      vi.useRealTimers();
    }
  });
});
