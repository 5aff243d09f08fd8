// The shared test of Conveyor's remote control (issue 14 §1): Celery's own command line
// (`celery inspect`, `celery control revoke`) talks to a Conveyor worker on a real broker.

import { randomUUID } from 'node:crypto';
import { Client, defineTask, MemoryResultBackend, type Transport, Worker } from '@conveyor/core';
import { expect, it } from 'vitest';
import { sendFromPython, startCeleryWorker } from './celery.js';
import { runCeleryRemoteControl } from './celery-control.js';

/** What differs per broker. */
export interface CeleryControlOptions {
  /** Broker name for the test title. */
  name: string;
  /** The broker as Python Celery names it (`CELERY_BROKER_URL`). */
  brokerUrl: string;
  /** A new, unconnected transport to the same broker; the test closes it. */
  createTransport(): Transport;
  /** Removes what the test's queues left on the broker. */
  cleanup?(queues: readonly string[]): Promise<void>;
}

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Runs the remote-control tests against one broker. */
export function describeCeleryControl(options: CeleryControlOptions): void {
  const setUp = (suffix: string) => {
    const queue = `control-${suffix}`;
    const hostname = `conveyor-control-${suffix}@test`;
    const hold = gate();
    const started = new Set<string>();
    const ran: string[] = [];
    const holdTask = defineTask({
      name: 'control.hold',
      queue,
      handler: async (): Promise<string> => {
        await hold.opened;
        return 'released';
      },
    });
    const add = defineTask({
      name: 'control.add',
      queue,
      handler: ([a, b]: [number, number]) => a + b,
    });
    const transport = options.createTransport();
    const results = new MemoryResultBackend();
    const worker = new Worker({
      transport,
      tasks: [holdTask, add],
      queues: [queue],
      hostname,
      concurrency: 1,
      results,
      control: true,
    });
    worker.on('started', (e) => started.add(e.taskId));
    worker.on('succeeded', (e) => ran.push(e.taskId));
    const client = new Client({ transport });
    const waitUntil = async (what: string, done: () => boolean | Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const tearDown = async (): Promise<void> => {
      hold.open();
      await worker.stop().catch(() => {});
      await transport.close();
      await options.cleanup?.([queue]);
    };
    return {
      queue,
      hostname,
      hold,
      started,
      ran,
      holdTask,
      add,
      worker,
      client,
      results,
      waitUntil,
      tearDown,
    };
  };

  it(`${options.name}: celery inspect ping, registered, active and stats reach a Conveyor worker beside a Python one`, async () => {
    const suffix = randomUUID().slice(0, 8);
    const t = setUp(suffix);
    const pythonQueue = `control-py-${suffix}`;
    const pythonHostname = `python-control-${suffix}@test`;
    const python = startCeleryWorker({
      brokerUrl: options.brokerUrl,
      queue: pythonQueue,
      hostname: pythonHostname,
    });
    try {
      await t.worker.start();
      const held = await t.client.send(t.holdTask, []);
      await t.waitUntil('the held task to start', () => t.started.has(held.id));
      const inspect = (command: string) =>
        runCeleryRemoteControl({
          brokerUrl: options.brokerUrl,
          kind: 'inspect',
          command,
          destination: t.hostname,
          timeoutSeconds: 3,
        });
      await python;
      const [ping, registered, active, stats] = await Promise.all([
        runCeleryRemoteControl({
          brokerUrl: options.brokerUrl,
          kind: 'inspect',
          command: 'ping',
          destination: `${t.hostname},${pythonHostname}`,
          timeoutSeconds: 3,
        }),
        ...['registered', 'active', 'stats'].map(inspect),
      ]);
      // One `celery inspect ping` answered by both: the Conveyor worker and Celery's own.
      expect(ping?.replies, ping?.stderr).toEqual({
        [t.hostname]: { ok: 'pong' },
        [pythonHostname]: { ok: 'pong' },
      });
      expect(registered?.replies).toEqual({ [t.hostname]: ['control.add', 'control.hold'] });
      const running = (active?.replies[t.hostname] ?? []) as Record<string, unknown>[];
      expect(running.map((r) => [r.id, r.name, r.hostname])).toEqual([[held.id, 'control.hold', t.hostname]]);
      expect(running[0]?.time_start).toEqual(expect.any(Number));
      const info = stats?.replies[t.hostname] as Record<string, unknown>;
      expect(info.pid).toBe(process.pid);
      expect(info.total).toEqual({ 'control.hold': 1 });
      expect(info.pool).toMatchObject({ 'max-concurrency': 1 });
      // A node name nobody has: Celery hears no reply (exit 69), so the worker checks `destination`.
      const elsewhere = await runCeleryRemoteControl({
        brokerUrl: options.brokerUrl,
        kind: 'inspect',
        command: 'ping',
        destination: `nobody-${t.hostname}`,
        timeoutSeconds: 1,
      });
      expect(elsewhere.replies).toEqual({});
      t.hold.open();
      await t.waitUntil('the held task to finish', () => t.ran.includes(held.id));
    } finally {
      await python.then((w) => w.stop()).catch(() => {});
      await t.tearDown();
      await options.cleanup?.([pythonQueue]);
    }
  });

  it(`${options.name}: celery control revoke stops a queued task, and one revoked before it is sent`, async () => {
    const t = setUp(randomUUID().slice(0, 8));
    const revoked: { taskId: string; reason: string }[] = [];
    t.worker.on('revoked', (e) => revoked.push(e));
    try {
      await t.worker.start();
      // Revoked before it exists: the id is remembered, and the task is dropped when it arrives.
      const early = randomUUID();
      const revokeEarly = await runCeleryRemoteControl({
        brokerUrl: options.brokerUrl,
        kind: 'control',
        command: 'revoke',
        args: [early],
        destination: t.hostname,
      });
      expect(revokeEarly.replies, revokeEarly.stderr).toEqual({
        [t.hostname]: { ok: `tasks {'${early}'} flagged as revoked` },
      });
      // As Celery 5.7: a task that has no result yet is stored REVOKED at once.
      await t.waitUntil(
        'REVOKED stored for the early id',
        async () => (await t.results.get(early))?.status === 'REVOKED',
      );
      // Queued behind a running task (concurrency 1), then revoked.
      const held = await t.client.send(t.holdTask, []);
      await t.waitUntil('the held task to start', () => t.started.has(held.id));
      const queued = await t.client.send(t.add, [2, 3]);
      const revokeQueued = await runCeleryRemoteControl({
        brokerUrl: options.brokerUrl,
        kind: 'control',
        command: 'revoke',
        args: [queued.id],
        destination: t.hostname,
      });
      expect(Object.keys(revokeQueued.replies)).toEqual([t.hostname]);
      await sendFromPython({
        brokerUrl: options.brokerUrl,
        queue: t.queue,
        task: 'control.add',
        args: [1, 1],
        taskId: early,
      });
      const control = await t.client.send(t.add, [4, 4]);
      t.hold.open();
      await t.waitUntil('the control task to run', () => t.ran.includes(control.id));
      await t.waitUntil('both revokes', () => revoked.length === 2);
      expect(revoked.map((e) => e.taskId).sort()).toEqual([early, queued.id].sort());
      expect(revoked.every((e) => e.reason === 'revoked')).toBe(true);
      expect(t.started.has(early) || t.started.has(queued.id)).toBe(false);
      expect(t.ran).not.toContain(early);
      expect(t.ran).not.toContain(queued.id);
      expect((await t.results.get(early))?.status).toBe('REVOKED');
      expect((await t.results.get(queued.id))?.status).toBe('REVOKED');
      const listed = await runCeleryRemoteControl({
        brokerUrl: options.brokerUrl,
        kind: 'inspect',
        command: 'revoked',
        destination: t.hostname,
      });
      expect(new Set(listed.replies[t.hostname] as string[])).toEqual(new Set([early, queued.id]));
    } finally {
      await t.tearDown();
    }
  });
}
