import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, type Transport } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { appWithBrokers, FIXTURES, runBin, startBin, transportInApp } from './helpers.js';

/**
 * `conveyor worker --isolation` on real Redis: a handler that spins forever is ended by its hard
 * time limit while healthy tasks complete, and SIGTERM stops the worker while another one spins
 * (in-process, the spinning handler would block the signal and the worker forever).
 */
// Its own database: nothing else in the suite uses db 12.
const URL = 'redis://127.0.0.1:6379/12';
const transports: Transport[] = [];
afterAll(async () => {
  for (const transport of transports) await transport.close().catch(() => {});
});

describe.each(['thread', 'process'])('conveyor worker --isolation %s', (mode) => {
  it('terminates a spinning handler at its hard limit, keeps serving, and stops on SIGTERM while one spins', async () => {
    const queue = `isolation-${randomUUID()}`;
    const app = appWithBrokers(['redis']);
    const transport = await transportInApp(app, 'redis', URL);
    transports.push(transport);
    await transport.connect();
    await transport.declareQueue({ name: queue });
    const client = new Client({ transport, defaultQueue: queue });
    const worker = startBin(
      [
        'worker',
        '--broker',
        URL,
        '--tasks',
        join(FIXTURES, 'isolation-tasks.mjs'),
        '--queues',
        queue,
        '--concurrency',
        '2',
        '--shutdown-deadline',
        '300',
        '--isolation',
        mode,
      ],
      { cwd: app },
    );
    try {
      await worker.waitForOutput('ready: consuming');
      expect(worker.stdout()).toContain(
        `isolation: each handler runs in a ${mode === 'thread' ? 'worker thread' : 'child process'}`,
      );
      const spin = await client.send('fixture.iso.spin', [], { queue });
      const sums = [];
      for (let n = 0; n < 6; n += 1) sums.push(await client.send('fixture.iso.add', [n, 1], { queue }));
      await worker.waitForOutput(
        `task fixture.iso.spin[${spin.id}] dead-lettered from ${queue}: gave up after 0 retries: TimeLimitExceededError`,
      );
      for (const sum of sums) await worker.waitForOutput(`fixture.iso.add[${sum.id}] succeeded`);

      await client.send('fixture.iso.spin-forever', [], { queue });
      await waitUntilRunning(transport, queue);
      const signalled = Date.now();
      worker.child.kill('SIGTERM');
      const result = await worker.exited;
      expect(Date.now() - signalled).toBeLessThan(15_000);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('worker stopped: 0 finished, 1 given back to the broker');
      expect((await transport.queueDepth(queue)).ready).toBe(1);
      await drain(transport, queue, 1);
      await drain(transport, `${queue}.dlq`, 1);
    } finally {
      worker.child.kill('SIGKILL');
    }
  });
});

describe('conveyor worker --isolation, misused', () => {
  it('refuses a mode it does not know, naming the option and the choices', async () => {
    const tasks = join(FIXTURES, 'isolation-tasks.mjs');
    const result = await runBin(['worker', '--broker', 'memory://', '--tasks', tasks, '--isolation', 'fork']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--isolation must be one of thread, process; got "fork"');
  });
});

/** Until the queue holds one message in flight and none ready: the spinning handler has it. */
async function waitUntilRunning(transport: Transport, queue: string): Promise<void> {
  for (let waited = 0; waited < 15_000; waited += 50) {
    const depth = await transport.queueDepth(queue);
    if (depth.ready === 0 && depth.inFlight === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the spinning task never started');
}

/** Acks `count` messages of `queue`, so that the test leaves its database as it found it. */
async function drain(transport: Transport, queue: string, count: number): Promise<void> {
  const stop = new AbortController();
  let acked = 0;
  const done = new Promise<void>((resolve) => {
    void transport.consume(
      queue,
      async (delivery) => {
        await delivery.ack();
        if (++acked === count) resolve();
      },
      { prefetch: count, signal: stop.signal },
    );
  });
  await done;
  stop.abort();
}
