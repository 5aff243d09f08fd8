import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, type Transport } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { appWithBrokers, runBin, startBin, transportInApp } from './helpers.js';

// Issue 10, item 4: a delayed message on Redis waits in a sorted set that only Conveyor processes
// release. Here nothing consumes the queue and the client that sent it has closed, as when only
// Python Celery workers consume it: `conveyor scheduler` alone must move it to its list once due.
// Db 14, with a key prefix of this run's own, so the scheduler's SCAN sees only this file's queues.
const PREFIX = `sched-${randomUUID().slice(0, 8)}/`;
const URL = `redis://127.0.0.1:6379/14?keyPrefix=${encodeURIComponent(PREFIX)}`;
const app = appWithBrokers(['redis']);
const open: Transport[] = [];

interface Depth {
  ready: number;
  delayed: number | undefined;
}

async function redis(): Promise<Transport> {
  const transport = await transportInApp(app, 'redis', URL);
  open.push(transport);
  await transport.connect();
  return transport;
}

/** Sends `count` tasks with a countdown the broker holds, then closes the sender (its own timer
 *  would otherwise release them). */
async function parkDelayed(queue: string, countdownMs: number, count = 1): Promise<void> {
  const sender = await redis();
  const client = new Client({ transport: sender, defaultQueue: queue, delayedDelivery: 'broker' });
  for (let i = 0; i < count; i += 1) await client.send('tasks.any', [i], { countdownMs });
  await sender.close();
}

async function depth(queue: string): Promise<Depth> {
  const { ready, delayed } = await (await redis()).queueDepth(queue);
  return { ready, delayed };
}

afterAll(async () => {
  for (const transport of open) await transport.close().catch(() => {});
  // ioredis as the app's @conveyor/redis resolves it: the CLI package itself does not depend on it.
  const resolve = createRequire(join(app, 'node_modules', '@conveyor', 'redis', 'package.json')).resolve;
  const { Redis } = (await import(pathToFileURL(resolve('ioredis')).href)) as {
    Redis: new (
      options: object,
    ) => {
      keys(pattern: string): Promise<string[]>;
      del(...keys: string[]): Promise<number>;
      disconnect(): void;
    };
  };
  const client = new Redis({ host: '127.0.0.1', port: 6379, db: 14 });
  const keys = await client.keys(`${PREFIX}*`);
  if (keys.length > 0) await client.del(...keys);
  client.disconnect();
});

describe('conveyor scheduler on Redis', () => {
  it('--help names every option', async () => {
    const result = await runBin(['scheduler', '--help']);
    expect(result.code).toBe(0);
    for (const name of ['--broker', '--queue', '--interval', '--once', '--require']) {
      expect(result.stdout).toContain(name);
    }
  });

  it('moves a delayed message nobody consumes to its list once due, and stops on SIGTERM', async () => {
    const queue = `python-only-${randomUUID().slice(0, 8)}`;
    await parkDelayed(queue, 1_000);
    expect(await depth(queue)).toEqual({ ready: 0, delayed: 1 });

    const scheduler = startBin(['scheduler', '--broker', URL, '--queue', queue], { cwd: app });
    try {
      await expect
        .poll(() => depth(queue), { timeout: 15_000, interval: 50 })
        .toEqual({ ready: 1, delayed: 0 });
      await scheduler.waitForOutput(`released 1 delayed message (${queue} 1)`);
    } finally {
      scheduler.child.kill('SIGTERM');
    }
    const result = await scheduler.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('received SIGTERM: stopped');
  }, 30_000);

  it('--once without --queue finds every delayed queue and moves only what is due', async () => {
    const due = `due-${randomUUID().slice(0, 8)}`;
    const later = `later-${randomUUID().slice(0, 8)}`;
    await parkDelayed(due, 50, 2);
    await parkDelayed(later, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const result = await runBin(['scheduler', '--broker', URL, '--once'], { cwd: app });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^released 2 delayed messages \\(${due} 2\\); \\d+ queues looked at; next due in \\d+ ms\\n$`,
      ),
    );
    expect(await depth(due)).toEqual({ ready: 2, delayed: 0 });
    expect(await depth(later)).toEqual({ ready: 0, delayed: 1 });
  }, 30_000);

  it('refuses a broker that releases delays itself, with exit code 2', async () => {
    const result = await runBin(['scheduler', '--broker', 'memory://', '--once'], { cwd: app });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the memory transport needs no scheduler');
  });

  it('refuses a bad --interval, naming it', async () => {
    const result = await runBin(['scheduler', '--broker', URL, '--interval', '0'], { cwd: app });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--interval');
  });
});
