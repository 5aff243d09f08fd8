/**
 * Isolated handlers on real worker threads and child processes. The runners load the built
 * runner program and the fixture module imports `@conveyor/core`, both from dist (a thread or a
 * child process cannot run the TypeScript sources), so this file uses dist too: the test script
 * builds first (turbo: test depends on build). The types are the sources'.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as Core from '../src/index.js';
import { collect, eventually, uniqueBroker } from './helpers.js';

const core = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Core;
const {
  Client,
  DEAD_LETTER_REASON_HEADER,
  HandlerCrashedError,
  MemoryResultBackend,
  MemoryTransport,
  Worker,
} = core;
const TASKS_MODULE = new URL('./fixtures/isolation/tasks.mjs', import.meta.url);
const tasks = (await import(TASKS_MODULE.href)) as Record<string, Core.Task>;
const ALL = Object.values(tasks);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface Setup {
  transport: Core.MemoryTransport;
  worker: Core.Worker;
  client: Core.Client;
  results: Core.MemoryResultBackend;
  dead: Core.Delivery[];
  events: { name: string; event: string; error?: unknown }[];
}

async function setup(
  mode: Core.IsolationMode,
  options: Partial<Omit<Core.WorkerOptions, 'isolation'>> & {
    isolation?: Partial<Core.IsolationOptions>;
  } = {},
): Promise<Setup> {
  const transport = new MemoryTransport({ broker: uniqueBroker('isolation') });
  await transport.connect();
  cleanups.push(() => transport.close());
  const results = new MemoryResultBackend();
  const { isolation, ...rest } = options;
  const worker = new Worker({
    transport,
    tasks: ALL,
    results,
    concurrency: 2,
    ...rest,
    isolation: { mode, tasksModule: TASKS_MODULE, ...isolation },
  });
  cleanups.push(() => worker.stop({ deadlineMs: 0 }));
  const events: Setup['events'] = [];
  for (const event of ['succeeded', 'retried', 'failed'] as const) {
    worker.on(event, (e) => events.push({ name: e.name, event, error: 'error' in e ? e.error : undefined }));
  }
  await worker.start();
  const dead = await collect(transport, 'celery.dlq');
  return { transport, worker, client: new Client({ transport, results }), results, dead, events };
}

const reasonOf = (d: Core.Delivery): string => String(d.message?.headers[DEAD_LETTER_REASON_HEADER]);
const eventsOf = (s: Setup, name: string): string[] =>
  s.events.filter((e) => e.name === name).map((e) => e.event);

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.each(['thread', 'process'] as const)('isolation: %s', (mode) => {
  it('round-trips args, context and results, and errors keep their class, fields and retry policy', async () => {
    const s = await setup(mode);
    const sum = await s.client.send(tasks.add!, [2, 3]);
    expect(await sum.get({ timeout: 10_000 })).toBe(5);

    const seen = await s.client.send('iso.context', [[1, 'two', { three: 3 }]], {
      kwargs: { flag: true },
      headers: { tenant: 'acme' },
    });
    const context = (await seen.get({ timeout: 10_000 })) as Record<string, unknown>;
    expect(context).toMatchObject({
      args: [[1, 'two', { three: 3 }]],
      id: seen.id,
      name: 'iso.context',
      retries: 0,
      deliveryCount: 1,
      kwargs: { flag: true },
      headers: { tenant: 'acme' },
      aborted: false,
    });

    // A RangeError with a field of its own, thrown in the runner, no retries: FAILURE as RangeError.
    const failing = await s.client.send('iso.fail', []);
    await eventually(() => expect(s.dead.map((d) => d.message?.headers.id)).toContain(failing.id));
    const failure = await s.results.get(failing.id);
    expect(failure?.status).toBe('FAILURE');
    expect(failure?.result).toMatchObject({
      exc_type: 'RangeError',
      exc_message: ['out of range in the runner'],
    });
    const error = s.events.find((e) => e.name === 'iso.fail')?.error as RangeError & { detail: unknown };
    expect(error).toBeInstanceOf(RangeError);
    expect(error.detail).toEqual({ limit: 3 });
    expect(error.stack).toContain('tasks.mjs');

    // PermanentTaskError is still one in the worker: dead-lettered at once, never retried.
    const permanent = await s.client.send('iso.permanent', []);
    await eventually(() => expect(s.dead.map((d) => d.message?.headers.id)).toContain(permanent.id));
    expect(eventsOf(s, 'iso.permanent')).toEqual(['failed']);
    expect(reasonOf(s.dead.find((d) => d.message?.headers.id === permanent.id)!)).toBe(
      'permanent failure: PermanentTaskError: no point in retrying',
    );
  });

  it('a CPU-bound handler is terminated at its hard time limit, retried, then dead-lettered while other tasks complete', async () => {
    const s = await setup(mode);
    const spin = await s.client.send('iso.spin', []);
    const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => s.client.send(tasks.add!, [i, 1])));
    // Both of the spinner's attempts hold a runner; the other runner keeps completing tasks.
    for (const [i, handle] of sums.entries()) expect(await handle.get({ timeout: 10_000 })).toBe(i + 1);

    await eventually(() => expect(s.dead).toHaveLength(1));
    expect(s.dead[0]!.message?.headers.id).toBe(spin.id);
    expect(reasonOf(s.dead[0]!)).toBe(
      'gave up after 1 retries: TimeLimitExceededError: hard time limit of 300 ms exceeded',
    );
    expect(eventsOf(s, 'iso.spin')).toEqual(['retried', 'failed']);
    expect(s.worker.running).toBe(0);
    // The worker is still serving after its runners were killed twice.
    expect(await (await s.client.send(tasks.add!, [40, 2])).get({ timeout: 10_000 })).toBe(42);
  });

  it('a synchronous call that never returns is ended by the hard time limit too', async () => {
    const s = await setup(mode);
    const hang = await s.client.send('iso.hang', []);
    await eventually(() => expect(s.dead).toHaveLength(1));
    expect(s.dead[0]!.message?.headers.id).toBe(hang.id);
    expect(reasonOf(s.dead[0]!)).toMatch(/^gave up after 0 retries: TimeLimitExceededError/);
    expect(await (await s.client.send(tasks.add!, [1, 1])).get({ timeout: 10_000 })).toBe(2);
  });

  it('process.exit() in a handler fails only its task: retried, then dead-lettered naming the crash', async () => {
    const s = await setup(mode);
    const exit = await s.client.send('iso.exit', []);
    const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => s.client.send(tasks.add!, [i, i])));
    for (const [i, handle] of sums.entries()) expect(await handle.get({ timeout: 10_000 })).toBe(2 * i);

    await eventually(() => expect(s.dead).toHaveLength(1));
    expect(s.dead[0]!.message?.headers.id).toBe(exit.id);
    const runner = mode === 'thread' ? 'worker thread' : 'process';
    expect(reasonOf(s.dead[0]!)).toBe(
      `gave up after 1 retries: HandlerCrashedError: handler crashed: its ${runner} exited with code 1`,
    );
    expect(eventsOf(s, 'iso.exit')).toEqual(['retried', 'failed']);
    const crash = s.events.find((e) => e.name === 'iso.exit')!.error as Core.HandlerCrashedError;
    expect(crash).toBeInstanceOf(HandlerCrashedError);
    expect(crash).toMatchObject({ code: 'HANDLER_CRASHED', isolation: mode, exitCode: 1, signal: null });
    const stored = await s.results.get(exit.id);
    expect(stored?.result).toMatchObject({ exc_type: 'HandlerCrashedError' });
    expect(await (await s.client.send(tasks.add!, [2, 2])).get({ timeout: 10_000 })).toBe(4);
  });

  it('an uncaught exception outside the handler, and running out of memory, crash only their task', async () => {
    const s = await setup(mode, { isolation: { maxOldGenerationSizeMb: 32 } });
    const throwLater = await s.client.send('iso.throw-later', []);
    const hog = await s.client.send('iso.hog', []);
    await eventually(() => expect(s.dead).toHaveLength(2), 30_000);
    const reason = (id: string): string => reasonOf(s.dead.find((d) => d.message?.headers.id === id)!);
    expect(reason(throwLater.id)).toMatch(
      /HandlerCrashedError: handler crashed: .*\(Error: thrown from a timer\)$/,
    );
    // A thread's heap limit is reported by Node; a process dies of V8's fatal OOM (SIGABRT).
    expect(reason(hog.id)).toMatch(
      mode === 'thread'
        ? /HandlerCrashedError: handler crashed: its worker thread exited with code 1 \(Error \[ERR_WORKER_OUT_OF_MEMORY\]/
        : /HandlerCrashedError: handler crashed: its process (was killed by SIGABRT|exited with code 134)/,
    );
    expect(await (await s.client.send(tasks.add!, [3, 3])).get({ timeout: 10_000 })).toBe(6);
  });

  it("the soft time limit aborts the handler's signal in the runner with SoftTimeLimitExceededError", async () => {
    const s = await setup(mode);
    const soft = await s.client.send('iso.soft', []);
    expect(await soft.get({ timeout: 10_000 })).toEqual({
      name: 'SoftTimeLimitExceededError',
      code: 'SOFT_TIME_LIMIT_EXCEEDED',
    });
  });

  it('stop() returns within its deadline while a handler spins, gives the message back and ends the runners', async () => {
    const s = await setup(mode, { concurrency: 1 });
    const pid = (await (await s.client.send('iso.pid', [])).get({ timeout: 10_000 })) as number;
    await s.client.send('iso.spin-forever', []);
    await eventually(() => expect(s.worker.running).toBe(1));
    const before = Date.now();
    const report = await s.worker.stop({ deadlineMs: 200 });
    expect(Date.now() - before).toBeLessThan(10_000);
    expect(report).toEqual({ finished: 0, returned: 1 });
    const back = await collect(s.transport, 'celery');
    await eventually(() => expect(back.map((d) => d.message?.headers.task)).toEqual(['iso.spin-forever']));
    if (mode === 'process') {
      expect(pid).not.toBe(process.pid);
      await eventually(() => expect(alive(pid)).toBe(false));
    } else {
      expect(pid).toBe(process.pid);
    }
  });

  it('keeps a runner for the next task, and replaces one that crashed', async () => {
    const s = await setup(mode, { concurrency: 1 });
    const pidOf = async (): Promise<unknown> => (await s.client.send('iso.pid', [])).get({ timeout: 10_000 });
    const first = await pidOf();
    expect(await pidOf()).toBe(first);
    const exit = await s.client.send('iso.exit', [], {});
    await eventually(() => expect(s.dead.map((d) => d.message?.headers.id)).toContain(exit.id));
    const after = await pidOf();
    if (mode === 'process') expect(after).not.toBe(first);
    expect(await (await s.client.send(tasks.add!, [5, 5])).get({ timeout: 10_000 })).toBe(10);
  });

  it('start() refuses a tasks module that lacks a task the worker runs, naming isolation.tasksModule', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('isolation') });
    const extra = core.defineTask({ name: 'not.in.module', handler: () => 1 });
    const worker = new Worker({
      transport,
      tasks: [tasks.add!, extra],
      isolation: { mode, tasksModule: TASKS_MODULE },
    });
    cleanups.push(() => worker.stop({ deadlineMs: 0 }));
    await expect(worker.start()).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      option: 'isolation.tasksModule',
      message: expect.stringContaining('does not export "not.in.module"'),
    });
    const empty = new Worker({
      transport,
      tasks: [tasks.add!],
      isolation: { mode, tasksModule: new URL('./fixtures/isolation/no-tasks.mjs', import.meta.url) },
    });
    await expect(empty.start()).rejects.toMatchObject({
      option: 'isolation.tasksModule',
      message: expect.stringContaining('no tasks found in'),
    });
  });
});
