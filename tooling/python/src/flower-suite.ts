// The shared Flower test (issue 14 §1): a real Flower (pinned in requirements.txt) started here
// lists a Conveyor worker that sends Celery events (Worker({ events })) and its tasks through its
// HTTP API. Flower reads only the events for these views.

import { randomUUID } from 'node:crypto';
import { Client, defineTask, PermanentTaskError, type Transport, Worker } from '@conveyor/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningFlower, startFlower } from './flower.js';

/** What differs per broker. */
export interface FlowerSuiteOptions {
  /** Broker name for the test title. */
  name: string;
  /** The broker as Flower (Celery) names it. */
  brokerUrl: string;
  /** A new, unconnected transport to the same broker; the test closes it. */
  createTransport(): Transport;
  /** Removes what the test's queues left on the broker. */
  cleanup?(queues: readonly string[]): Promise<void>;
}

/** Polls until `read` returns something `accept` likes; fails with the last value after `timeoutMs`. */
async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`not accepted within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface FlowerWorker {
  hostname: string;
  status: boolean;
  sw_ident?: string;
  'task-succeeded'?: number;
  'task-failed'?: number;
}
interface FlowerTask {
  uuid: string;
  name: string;
  state: string;
  args: string;
  kwargs: string;
  result: string | null;
  exception: string | null;
  worker: string;
}

/** Starts Flower for the file and runs the test against it. */
export function describeFlower(options: FlowerSuiteOptions): void {
  let flower: RunningFlower;
  beforeAll(async () => {
    flower = await startFlower({ brokerUrl: options.brokerUrl });
  }, 120_000);
  afterAll(async () => {
    await flower?.stop();
  });

  it(`${options.name}: Flower lists the Conveyor worker and its tasks through its HTTP API`, async () => {
    const suffix = randomUUID().slice(0, 8);
    const queue = `flower-${suffix}`;
    const hostname = `conveyor-flower-${suffix}@test`;
    const add = defineTask({ name: 'flower.add', queue, handler: ([a, b]: [number, number]) => a + b });
    const boom = defineTask({
      name: 'flower.boom',
      queue,
      handler: (): never => {
        throw new PermanentTaskError('boom');
      },
    });
    const transport = options.createTransport();
    const worker = new Worker({ transport, tasks: [add, boom], hostname, events: { heartbeatSeconds: 0.5 } });
    const workers = async () => ((await flower.getJson('/workers?json=1')) as { data: FlowerWorker[] }).data;
    const mine = (list: FlowerWorker[]) => list.find((w) => w.hostname === hostname);
    try {
      await worker.start();
      // Seen through its heartbeats: from then on Flower's receiver is surely subscribed.
      const online = mine(await eventually(workers, (list) => mine(list)?.status === true));
      expect(online?.sw_ident).toBe('conveyor');

      const client = new Client({ transport });
      const ok = await client.send(add, [2, 3]);
      const failed = await client.send(boom, []);
      const tasks = await eventually(
        async () =>
          (await flower.getJson(`/api/tasks?workername=${encodeURIComponent(hostname)}`)) as Record<
            string,
            FlowerTask
          >,
        (found) => found[ok.id]?.state === 'SUCCESS' && found[failed.id]?.state === 'FAILURE',
      );
      expect(tasks[ok.id]).toMatchObject({
        name: 'flower.add',
        args: '(2, 3)',
        result: '5',
        worker: hostname,
      });
      expect(tasks[failed.id]).toMatchObject({
        name: 'flower.boom',
        exception: "PermanentTaskError('boom')",
      });
      const info = (await flower.getJson(`/api/task/info/${ok.id}`)) as FlowerTask;
      expect(info).toMatchObject({ uuid: ok.id, state: 'SUCCESS', worker: hostname });
      const counted = mine(
        await eventually(
          workers,
          (list) => mine(list)?.['task-succeeded'] === 1 && mine(list)?.['task-failed'] === 1,
        ),
      );
      expect(counted).toMatchObject({ status: true });

      await worker.stop();
      await eventually(workers, (list) => mine(list)?.status === false);
    } finally {
      await worker.stop().catch(() => {});
      await transport.close();
      await options.cleanup?.([queue, `${queue}.dlq`]);
    }
  }, 120_000);
}
