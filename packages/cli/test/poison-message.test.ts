import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, DEAD_LETTER_REASON_HEADER, type Transport, transportFromUrl } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { appWithBrokers, FIXTURES, startBin } from './helpers.js';

/**
 * The crash loop of issue 10, with real processes on real brokers: a task whose handler kills its
 * worker process, beside healthy tasks, under a supervisor that restarts the worker every time it
 * dies. The poison message must end in the dead-letter queue after --max-deliveries, every healthy
 * task must run, none may be dead-lettered, and the restarts must stop.
 */
const BROKERS = [
  // Redis gives a dead worker's messages back when their visibility timeout runs out.
  { name: 'redis', url: 'redis://127.0.0.1:6379/7?visibilityTimeoutMs=1500' },
  // RabbitMQ classic queues requeue them as soon as the connection drops.
  { name: 'rabbitmq (classic queue)', url: 'amqp://guest:guest@127.0.0.1:5672' },
] as const;

const MAX_DELIVERIES = 3;
const HEALTHY = 12;
const transports: Transport[] = [];
afterAll(async () => {
  for (const transport of transports) await transport.close().catch(() => {});
});

describe.each(BROKERS)('a poison message on $name', ({ url }) => {
  it('is dead-lettered after --max-deliveries; its healthy neighbours all run and none is dead-lettered', async () => {
    const queue = `poison-${randomUUID()}`;
    const transport = await transportFromUrl(url);
    transports.push(transport);
    await transport.connect();
    await transport.declareQueue({ name: queue });
    const client = new Client({ transport, defaultQueue: queue });
    const poisonId = (await client.send('fixture.poison', [], { queue })).id;
    const healthyIds = new Set<string>();
    for (let n = 0; n < HEALTHY; n += 1)
      healthyIds.add((await client.send('fixture.healthy', [n], { queue })).id);

    const succeeded = new Set<string>();
    const dead: { id: unknown; reason: unknown }[] = [];
    const deadLetters = new AbortController();
    await transport.consume(
      `${queue}.dlq`,
      async (delivery) => {
        dead.push({
          id: delivery.message?.headers.id,
          reason: delivery.message?.headers[DEAD_LETTER_REASON_HEADER],
        });
        await delivery.ack();
      },
      { prefetch: 10, signal: deadLetters.signal },
    );
    const collectSucceeded = (stdout: string): void => {
      for (const match of stdout.matchAll(/task fixture\.healthy\[([^\]]+)\] succeeded/g)) {
        succeeded.add(match[1]!);
      }
    };
    let restarts = 0;
    let settled = false;
    const app = appWithBrokers();
    for (; restarts < 10 && !settled; restarts += 1) {
      const worker = startBin(
        [
          'worker',
          '--broker',
          url,
          '--tasks',
          join(FIXTURES, 'poison-tasks.mjs'),
          '--queues',
          queue,
          '--concurrency',
          '4',
          '--max-deliveries',
          String(MAX_DELIVERIES),
        ],
        { cwd: app },
      );
      // Until it dies, or until the poison message is dead-lettered and every healthy task has
      // succeeded (then stop it like a supervisor would). Queue depth cannot tell: RabbitMQ does
      // not report what a consumer holds.
      const poll = setInterval(() => {
        collectSucceeded(worker.stdout());
        if (dead.length > 0 && succeeded.size === healthyIds.size) {
          settled = true;
          worker.child.kill('SIGTERM');
        }
      }, 100);
      const result = await worker.exited;
      clearInterval(poll);
      collectSucceeded(result.stdout);
    }
    deadLetters.abort();
    expect(dead).toEqual([
      {
        id: poisonId,
        reason: `delivered ${MAX_DELIVERIES} times without being settled (maxDeliveries is ${MAX_DELIVERIES})`,
      },
    ]);
    expect(succeeded).toEqual(healthyIds);
    // One crash per delivery of the poison message, then a worker that drains the rest.
    expect(restarts).toBe(MAX_DELIVERIES + 1);
  }, 120_000);
});
