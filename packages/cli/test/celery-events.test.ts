import { hostname } from 'node:os';
import { join } from 'node:path';
import { CELERY_EVENT_EXCHANGE } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { appWithBrokers, FIXTURES, runBin, startBin, transportInApp } from './helpers.js';

/** `conveyor worker -E`: Celery's worker events on the broker's `celeryev` exchange. */
const REDIS = 'redis://127.0.0.1:6379/12';
const TASKS = join(FIXTURES, 'metrics-tasks.mjs');
const app = appWithBrokers(['redis']);

describe('conveyor worker --events (-E)', () => {
  it('sends worker-online and, at SIGTERM, worker-offline on Redis', async () => {
    const queue = `cli-events-${Math.random().toString(36).slice(2, 8)}`;
    // The CLI names its worker conveyor@<host>, as other tests' workers: the pid tells this one.
    let pid: number | undefined;
    const listener = await transportInApp(app, 'redis', REDIS);
    const seen: Record<string, unknown>[] = [];
    const subscription = new AbortController();
    await listener.broadcast!.subscribe(
      CELERY_EVENT_EXCHANGE,
      'worker.#',
      ({ message }) => {
        const event = JSON.parse(Buffer.from(message.body).toString('utf8')) as Record<string, unknown>;
        if (pid !== undefined && event.pid === pid) seen.push(event);
      },
      { signal: subscription.signal },
    );
    const worker = startBin(
      ['worker', '-E', '-n', `${queue}@%h`, '--broker', REDIS, '--tasks', TASKS, '-Q', queue],
      { cwd: app },
    );
    pid = worker.child.pid;
    try {
      await worker.waitForOutput('ready: consuming', 30_000);
      worker.child.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
      const deadline = Date.now() + 5_000;
      while (!seen.some((e) => e.type === 'worker-offline') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(seen[0]).toMatchObject({
        type: 'worker-online',
        sw_ident: 'conveyor',
        freq: 2,
        hostname: `${queue}@${hostname()}`,
      });
      expect(seen.at(-1)).toMatchObject({ type: 'worker-offline' });
    } finally {
      worker.child.kill('SIGKILL');
      subscription.abort();
      await listener.close();
    }
  });

  it('refuses a node name with spaces, naming --hostname', async () => {
    const result = await runBin(['worker', '-n', 'two words', '--broker', 'memory://', '--tasks', TASKS], {
      cwd: app,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--hostname/);
  });

  it('refuses -E on a broker that cannot broadcast, naming the capability', async () => {
    const result = await runBin(['worker', '-E', '--broker', 'memory://', '--tasks', TASKS], { cwd: app });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/broadcast/);
  });
});
