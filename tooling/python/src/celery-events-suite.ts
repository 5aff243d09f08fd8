// The shared test of Conveyor's Celery events (issue 14): Celery's own EventReceiver, fed into
// celery.events.state.State (Flower's model), watches a Conveyor worker and client on a real broker
// and must see every event of each task's life, in Celery's exact layout.

import { randomUUID } from 'node:crypto';
import {
  Client,
  defineTask,
  PermanentTaskError,
  sendTaskSentEvents,
  type Transport,
  Worker,
} from '@conveyor/core';
import { expect, it } from 'vitest';
import { startCeleryWorker } from './celery.js';
import { type CapturedCeleryEvent, captureCeleryEvents } from './celery-events.js';

/** What differs per broker. */
export interface CeleryEventsOptions {
  /** Broker name for the test title. */
  name: string;
  /** The broker as Python Celery names it (`CELERY_BROKER_URL`). */
  brokerUrl: string;
  /** A new, unconnected transport to the same broker; the test closes it. */
  createTransport(): Transport;
  /** Removes what the test's queues left on the broker. */
  cleanup?(queues: readonly string[]): Promise<void>;
  /**
   * Also check the field table against a real Celery worker (`-E`) on this broker: the task events
   * it sends must have exactly the fields CELERY_EVENT_FIELDS lists. A few seconds; one broker is enough.
   */
  compareWithCelery?: boolean;
}

/** The fields Celery's worker sends with each event type (besides hostname, utcoffset, pid, clock,
 *  timestamp, type), from celery/worker/strategy.py, request.py and heartbeat.py (Celery 5.x). */
export const CELERY_EVENT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'worker-online': ['freq', 'active', 'processed', 'loadavg', 'sw_ident', 'sw_ver', 'sw_sys'],
  'worker-heartbeat': ['freq', 'active', 'processed', 'loadavg', 'sw_ident', 'sw_ver', 'sw_sys'],
  'worker-offline': ['freq', 'active', 'processed', 'loadavg', 'sw_ident', 'sw_ver', 'sw_sys'],
  'task-sent': [
    'uuid',
    'root_id',
    'parent_id',
    'name',
    'args',
    'kwargs',
    'retries',
    'eta',
    'expires',
    'queue',
    'exchange',
    'routing_key',
  ],
  'task-received': ['uuid', 'name', 'args', 'kwargs', 'root_id', 'parent_id', 'retries', 'eta', 'expires'],
  'task-started': ['uuid'],
  'task-succeeded': ['uuid', 'result', 'runtime'],
  'task-failed': ['uuid', 'exception', 'traceback'],
  'task-retried': ['uuid', 'exception', 'traceback'],
  'task-rejected': ['uuid', 'requeue'],
  'task-revoked': ['uuid', 'terminated', 'signum', 'expired'],
};
const COMMON_FIELDS = ['hostname', 'utcoffset', 'pid', 'clock', 'timestamp', 'type'];

/** Runs the events test against one broker. */
export function describeCeleryEvents(options: CeleryEventsOptions): void {
  it(`${options.name}: Celery's event receiver sees every event of Conveyor tasks' lives`, async () => {
    const suffix = randomUUID().slice(0, 8);
    const queue = `events-${suffix}`;
    const hostname = `conveyor-events-${suffix}@test`;
    const capture = await captureCeleryEvents({
      brokerUrl: options.brokerUrl,
      until: `worker-offline@${hostname}`,
      timeoutMs: 60_000,
    });
    const transport = options.createTransport();
    let flakyCalls = 0;
    const add = defineTask({
      name: 'events.add',
      queue,
      handler: ([a, b]: [number, number]) => a + b,
    });
    const boom = defineTask({
      name: 'events.boom',
      queue,
      handler: (): never => {
        throw new PermanentTaskError('boom');
      },
    });
    const flaky = defineTask({
      name: 'events.flaky',
      queue,
      retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' },
      handler: (): string => {
        flakyCalls += 1;
        if (flakyCalls === 1) throw new Error('first call fails');
        return 'ok';
      },
    });
    const worker = new Worker({
      transport,
      tasks: [add, boom, flaky],
      queues: [queue],
      hostname,
      events: { heartbeatSeconds: 0.5 },
    });
    const client = new Client({ transport });
    const stopSent = sendTaskSentEvents(client);
    try {
      await worker.start();
      const sum = await client.send(add, [2, 3], { kwargs: { note: 'x' } });
      const failed = await client.send(boom, []);
      const retried = await client.send(flaky, []);
      const expired = await client.send(add, [1, 1], { expires: new Date(Date.now() - 1000) });
      const last = (id: string, type: string) => (e: CapturedCeleryEvent) =>
        e.event.uuid === id && e.event.type === type;
      await capture.waitFor(last(sum.id, 'task-succeeded'), 30_000);
      await capture.waitFor(last(failed.id, 'task-rejected'), 30_000);
      await capture.waitFor(last(retried.id, 'task-succeeded'), 30_000);
      await capture.waitFor(last(expired.id, 'task-revoked'), 30_000);
      await capture.waitFor((e) => e.event.type === 'worker-heartbeat' && e.event.hostname === hostname);
      await worker.stop();
      const state = await capture.finished;
      const mine = capture.events.filter(
        (e) => e.event.hostname === hostname || (e.event.type === 'task-sent' && e.event.queue === queue),
      );
      // task-sent comes from the client after its publish returns, so (as with Celery) it may
      // arrive after the worker's first events: it is checked apart from the worker's sequence.
      const typesOf = (id: string) =>
        mine.filter((e) => e.event.uuid === id && e.event.type !== 'task-sent').map((e) => e.event.type);
      for (const handle of [sum, failed, retried, expired]) {
        expect(mine.filter(last(handle.id, 'task-sent')).map((e) => e.event.queue)).toEqual([queue]);
      }

      // Every event of each task's life, in order.
      expect(typesOf(sum.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(typesOf(failed.id)).toEqual(['task-received', 'task-started', 'task-failed', 'task-rejected']);
      // The retry's copy is published before task-retried is sent, so (as with Celery, where the
      // copy may reach another worker first) its task-received may come before task-retried.
      const retriedTypes = typesOf(retried.id);
      expect(retriedTypes.slice(0, 2)).toEqual(['task-received', 'task-started']);
      expect(retriedTypes.at(-1)).toBe('task-succeeded');
      expect([...retriedTypes].sort()).toEqual(
        [
          'task-received',
          'task-started',
          'task-retried',
          'task-received',
          'task-started',
          'task-succeeded',
        ].sort(),
      );
      expect(typesOf(expired.id)).toEqual(['task-received', 'task-revoked']);
      const workerTypes = mine
        .filter((e) => String(e.event.type).startsWith('worker-'))
        .map((e) => e.event.type);
      expect(workerTypes[0]).toBe('worker-online');
      expect(workerTypes.at(-1)).toBe('worker-offline');
      expect(workerTypes).toContain('worker-heartbeat');

      // Celery's layout: exactly Celery's fields, JSON, header hostname, routing key type with dots.
      for (const e of mine) {
        const type = String(e.event.type);
        expect(Object.keys(e.event).sort(), type).toEqual(
          [...COMMON_FIELDS, ...CELERY_EVENT_FIELDS[type]!].sort(),
        );
        expect(e.content_type).toBe('application/json');
        expect(e.content_encoding).toBe('utf-8');
        expect(e.routing_key).toBe(type.replaceAll('-', '.'));
        expect(e.headers.hostname).toBe(e.event.hostname);
        expect(typeof e.event.timestamp).toBe('number');
        expect(Math.abs(Number(e.event.timestamp) * 1000 - Date.now())).toBeLessThan(120_000);
      }
      const received = mine.find(last(sum.id, 'task-received'))!.event;
      expect(received).toMatchObject({
        name: 'events.add',
        args: '(2, 3)',
        kwargs: "{'note': 'x'}",
        root_id: sum.id,
        parent_id: null,
        retries: 0,
        eta: null,
        expires: null,
      });
      expect(mine.find(last(sum.id, 'task-sent'))!.event).toMatchObject({
        name: 'events.add',
        args: '(2, 3)',
        kwargs: "{'note': 'x'}",
        root_id: sum.id,
        queue,
        routing_key: queue,
      });
      expect(mine.find(last(sum.id, 'task-succeeded'))!.event.result).toBe('5');
      expect(mine.find(last(failed.id, 'task-failed'))!.event.exception).toBe("PermanentTaskError('boom')");
      expect(mine.find(last(expired.id, 'task-revoked'))!.event).toMatchObject({
        expired: true,
        terminated: false,
      });
      const online = mine.find((e) => e.event.type === 'worker-online')!.event;
      expect(online).toMatchObject({ freq: 0.5, sw_ident: 'conveyor' });
      expect(mine.find((e) => e.event.type === 'worker-offline')!.event.processed).toBe(4);
      const clocks = mine.filter((e) => e.event.hostname === hostname).map((e) => Number(e.event.clock));
      expect(clocks).toEqual([...clocks].sort((a, b) => a - b));

      // What Celery's State (Flower's model) made of it.
      expect(state.workers[hostname]).toMatchObject({ alive: false, sw_ident: 'conveyor', freq: 0.5 });
      expect(state.tasks[sum.id]).toMatchObject({
        state: 'SUCCESS',
        name: 'events.add',
        args: '(2, 3)',
        result: '5',
        worker: hostname,
      });
      expect(state.tasks[failed.id]).toMatchObject({
        state: 'FAILURE',
        exception: "PermanentTaskError('boom')",
      });
      expect(state.tasks[retried.id]).toMatchObject({ state: 'SUCCESS', result: "'ok'" });
      expect(state.tasks[expired.id]).toMatchObject({ state: 'REVOKED' });
    } finally {
      stopSent();
      capture.stop();
      await worker.stop().catch(() => {});
      await transport.close();
      await options.cleanup?.([queue, `${queue}.dlq`]);
    }
  }, 120_000);

  if (options.compareWithCelery) {
    it(`${options.name}: a real Celery worker's task events have exactly the fields of the table`, async () => {
      const suffix = randomUUID().slice(0, 8);
      const queue = `events-celery-${suffix}`;
      const hostname = `celery-events-${suffix}@test`;
      const capture = await captureCeleryEvents({ brokerUrl: options.brokerUrl, timeoutMs: 60_000 });
      const celery = await startCeleryWorker({ brokerUrl: options.brokerUrl, queue, hostname, events: true });
      const transport = options.createTransport();
      try {
        const client = new Client({ transport });
        const ok = await client.send('interop.add', [2, 3], { queue });
        const failed = await client.send('interop.fail', [], { queue });
        const from = (id: string, type: string) => (e: CapturedCeleryEvent) =>
          e.event.uuid === id && e.event.type === type && e.event.hostname === hostname;
        await capture.waitFor(from(ok.id, 'task-succeeded'), 30_000);
        await capture.waitFor(from(failed.id, 'task-failed'), 30_000);
        const theirs = capture.events.filter((e) => e.event.hostname === hostname);
        const types = new Set(theirs.map((e) => String(e.event.type)));
        for (const type of ['task-received', 'task-started', 'task-succeeded', 'task-failed']) {
          expect(types.has(type), type).toBe(true);
        }
        for (const e of theirs) {
          const type = String(e.event.type);
          if (!type.startsWith('task-')) continue;
          expect(Object.keys(e.event).sort(), type).toEqual(
            [...COMMON_FIELDS, ...CELERY_EVENT_FIELDS[type]!].sort(),
          );
          expect(e.headers.hostname).toBe(hostname);
          expect(e.content_type).toBe('application/json');
        }
        // Celery's reprs, which Conveyor's mirror.
        expect(theirs.find(from(ok.id, 'task-received'))!.event.args).toBe('(2, 3)');
        expect(theirs.find(from(ok.id, 'task-succeeded'))!.event.result).toBe('5');
      } finally {
        capture.stop();
        await celery.stop();
        await transport.close();
        await options.cleanup?.([queue, `${queue}.dlq`]);
      }
    }, 120_000);
  }
}
