import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Client, defineTask, PIDBOX_EXCHANGE } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { appWithBrokers, FIXTURES, runBin, startBin, transportInApp } from './helpers.js';

/** `conveyor worker --control`: Celery's remote control (the Python side is proven in redis/amqp). */
const REDIS = 'redis://127.0.0.1:6379/4';
const TASKS = join(FIXTURES, 'metrics-tasks.mjs');
const app = appWithBrokers(['redis']);

describe('conveyor worker --control', () => {
  it('obeys a revoke cast on celery.pidbox: the task arriving afterwards is not run', async () => {
    const queue = `cli-control-${randomUUID().slice(0, 8)}`;
    const transport = await transportInApp(app, 'redis', REDIS);
    const worker = startBin(['worker', '--control', '--broker', REDIS, '--tasks', TASKS, '-Q', queue], {
      cwd: app,
    });
    try {
      await worker.waitForOutput('ready: consuming', 30_000);
      const revokedId = randomUUID();
      // What `celery control revoke <id>` publishes (kombu Mailbox._publish), without a reply.
      const body = {
        method: 'revoke',
        arguments: { task_id: revokedId },
        destination: [`conveyor@${hostname()}`],
        pattern: null,
        matcher: null,
      };
      await transport.broadcast!.publish(PIDBOX_EXCHANGE, '', {
        headers: { clock: 1, expires: 0 },
        properties: { content_type: 'application/json', content_encoding: 'utf-8', delivery_mode: 1 },
        body: Buffer.from(JSON.stringify(body)),
      });
      const ok = defineTask({ name: 'metrics.ok', queue, handler: ([n]: [number]) => n });
      const client = new Client({ transport });
      // The worker subscribed before it logged "ready", and the cast goes out before the task.
      await client.send(ok, [1], { taskId: revokedId });
      await worker.waitForOutput(`metrics.ok[${revokedId}] revoked: revoked`, 30_000);
      const other = await client.send(ok, [2]);
      await worker.waitForOutput(other.id, 30_000);
      expect(worker.stdout()).not.toMatch(new RegExp(`${revokedId}\\] succeeded`));
    } finally {
      worker.child.kill('SIGKILL');
      await transport.close();
    }
  });

  it('refuses --control on a broker that cannot broadcast, naming the capability', async () => {
    const result = await runBin(['worker', '--control', '--broker', 'memory://', '--tasks', TASKS], {
      cwd: app,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/broadcast/);
  });
});
