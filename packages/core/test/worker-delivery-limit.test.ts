import { afterEach, describe, expect, it } from 'vitest';
import {
  Client,
  DEAD_LETTER_REASON_HEADER,
  type Delivery,
  DeliveryLimitExceededError,
  defineTask,
  InvalidOptionError,
  MemoryResultBackend,
  MemoryTransport,
  type Task,
  Worker,
} from '../src/index.js';
import { encodeTaskMessage, withCarriedCount } from '../src/transport-authors.js';
import { collect, eventually, uniqueBroker } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function transportOn(broker: string): Promise<MemoryTransport> {
  const transport = new MemoryTransport({ broker });
  await transport.connect();
  cleanups.push(() => transport.close());
  return transport;
}

/** Publishes a task message as a copy that says it was delivered `earlier` times already. */
async function publishWithHistory(transport: MemoryTransport, task: string, id: string, earlier: number) {
  const wire = encodeTaskMessage({ id, task, args: [], kwargs: {} });
  await transport.publish('celery', withCarriedCount(wire, earlier));
}

const reasonOf = (d: Delivery) => String(d.message?.headers[DEAD_LETTER_REASON_HEADER]);

describe('Worker: a bounded number of deliveries', () => {
  it('dead-letters a message delivered more than maxDeliveries times without running it', async () => {
    const transport = await transportOn(uniqueBroker());
    const results = new MemoryResultBackend();
    const ran: string[] = [];
    const task = defineTask({ name: 'poison', handler: (_args: [], ctx) => void ran.push(ctx.id) });
    const worker = new Worker({ transport, tasks: [task], results, maxDeliveries: 3 });
    cleanups.push(() => worker.stop({ deadlineMs: 0 }));
    await worker.start();
    const dead = await collect(transport, 'celery.dlq');

    await publishWithHistory(transport, 'poison', 'over', 3); // 4th delivery: over the limit
    await publishWithHistory(transport, 'poison', 'at', 2); // 3rd delivery: still allowed

    await eventually(() => expect(dead).toHaveLength(1));
    await eventually(() => expect(ran).toEqual(['at']));
    expect(dead[0]!.message?.headers.id).toBe('over');
    expect(reasonOf(dead[0]!)).toBe('delivered 3 times without being settled (maxDeliveries is 3)');
    const stored = await results.get('over');
    expect(stored?.status).toBe('FAILURE');
    expect(JSON.stringify(stored?.result)).toContain('DeliveryLimitExceededError');
  });

  it("uses a task's own maxDeliveries over the worker's", async () => {
    const transport = await transportOn(uniqueBroker());
    const strict = defineTask({ name: 'strict', maxDeliveries: 1, handler: () => 'ran' });
    const worker = new Worker({ transport, tasks: [strict], maxDeliveries: 50 });
    cleanups.push(() => worker.stop({ deadlineMs: 0 }));
    await worker.start();
    const dead = await collect(transport, 'celery.dlq');
    await publishWithHistory(transport, 'strict', 'second-delivery', 1);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/delivered 1 times without being settled \(maxDeliveries is 1\)/);
  });

  it('refuses a delivery limit that is not a whole number >= 1, naming the option', () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    const task = defineTask({ name: 't', handler: () => 1 });
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      expect(() => new Worker({ transport, tasks: [task], maxDeliveries: bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', option: 'maxDeliveries' }),
      );
      expect(() => defineTask({ name: 't', maxDeliveries: bad, handler: () => 1 })).toThrow(
        InvalidOptionError,
      );
    }
    expect(
      () => new Worker({ transport, tasks: [task], maxDeliveries: Number.POSITIVE_INFINITY }),
    ).not.toThrow();
    expect(new DeliveryLimitExceededError(4, 3).code).toBe('DELIVERY_LIMIT_EXCEEDED');
  });

  it('gives back a message it never started without charging it a delivery (a deploy is not a crash)', async () => {
    const broker = uniqueBroker();
    const transport = await transportOn(broker);
    const blocked = defineTask({ name: 'blocked', queue: 'qa', handler: () => new Promise(() => {}) });
    const waiting = defineTask({ name: 'waiting', queue: 'qb', handler: () => 'never started' });
    const worker = new Worker({ transport, tasks: [blocked, waiting], concurrency: 1 });
    await worker.start();
    const client = new Client({ transport });
    await client.send(blocked, []);
    await client.send(waiting, []);
    await eventually(() => expect(worker.running).toBe(1));
    expect(await worker.stop({ deadlineMs: 0 })).toEqual({ finished: 0, returned: 2 });

    const observer = await transportOn(broker);
    const [a, b] = [await collect(observer, 'qa'), await collect(observer, 'qb')];
    await eventually(() => expect(a.length + b.length).toBe(2));
    expect(a[0]!.deliveryCount).toBe(2); // it ran and was cut short: that delivery counts
    expect(b[0]!.deliveryCount).toBe(1); // it only waited in this worker's hands
  });

  /**
   * The crash loop of the issue, in one process: the poison task "kills its worker" (the test
   * drops that worker's connection the moment the poison handler starts, so everything the worker
   * held goes back unsettled), and a supervisor starts a fresh worker each time.
   */
  it('ends a crash loop: the poison message is dead-lettered, healthy neighbours run and are not charged', async () => {
    const broker = uniqueBroker('crash-loop');
    const producer = await transportOn(broker);
    const client = new Client({ transport: producer });
    const healthyIds = new Set<string>();
    const healthyDone = new Set<string>();
    const healthyCounts: number[] = [];
    let crash: () => void = () => {};
    let poisonRuns = 0;
    const poison = defineTask({
      name: 'poison',
      handler: () => {
        poisonRuns += 1;
        setTimeout(() => crash(), 5); // its neighbours have been handed out and are running by now
        return new Promise<never>(() => {}); // the process is gone: never settles
      },
    });
    const healthy = defineTask({
      name: 'healthy',
      handler: async (_args: [], ctx) => {
        healthyCounts.push(ctx.deliveryCount);
        await new Promise((resolve) => setTimeout(resolve, 30));
        healthyDone.add(ctx.id);
      },
    });
    const tasks: Task[] = [poison, healthy];
    await client.send(poison, []);
    for (let i = 0; i < 7; i += 1) healthyIds.add((await client.send(healthy, [])).id);
    const dead = await collect(producer, 'celery.dlq');

    const maxDeliveries = 3;
    let restarts = 0;
    for (; restarts < 12; restarts += 1) {
      if (dead.length > 0 && healthyDone.size === healthyIds.size) break;
      const transport = new MemoryTransport({ broker });
      const worker = new Worker({ transport, tasks, concurrency: 8, maxDeliveries });
      let crashed!: () => void;
      const died = new Promise<void>((resolve) => {
        crashed = resolve;
      });
      crash = () => {
        void transport.close().then(crashed); // everything it held goes back unsettled
      };
      await worker.start();
      const finished = eventually(
        () => expect(dead.length > 0 && healthyDone.size === healthyIds.size).toBe(true),
        5_000,
      ).then(() => worker.stop({ deadlineMs: 0 }));
      await Promise.race([died, finished.catch(() => {})]);
      await transport.close();
    }

    expect(dead.map((d) => d.message?.headers.task)).toEqual(['poison']);
    expect(reasonOf(dead[0]!)).toBe('delivered 3 times without being settled (maxDeliveries is 3)');
    expect(poisonRuns).toBe(maxDeliveries);
    expect(healthyDone).toEqual(healthyIds);
    // Only the first crash, when nobody knew the poison message yet, touches its neighbours.
    expect(Math.max(...healthyCounts)).toBeLessThanOrEqual(2);
    expect(restarts).toBe(maxDeliveries + 1);
  });
});
