import { join } from 'node:path';
import { Client, type QueueDepth, type Transport } from '@conveyor/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { DashboardSnapshot, QueueSnapshot } from '../src/dashboard/dashboard-state.js';
import { deleteKafkaTopics, deleteRabbitQueues, deleteSqsQueues } from './broker-cleanup.js';
import {
  appWithBrokers,
  type BrokerPackage,
  FIXTURES,
  type RunningBin,
  startBin,
  transportInApp,
} from './helpers.js';

/**
 * `conveyor dashboard` on RabbitMQ, SQS (ElasticMQ) and Kafka, read through its JSON API (the
 * browser test covers the page on Redis): a real `conveyor worker` dead-letters two failing tasks,
 * three more wait; the queue row counts them, shows null ("-") exactly where the broker's
 * queueDepth cannot tell, lists the worker from its events where the broker carries them (and says
 * it cannot elsewhere), and a redrive through the API moves the letters back onto the queue.
 */
const AMQP = 'amqp://guest:guest@127.0.0.1:5672';
const SQS_ENDPOINT = process.env.CONVEYOR_SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const KAFKA_BOOTSTRAP = process.env.CONVEYOR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const RUN = Math.random().toString(36).slice(2, 8);
const TASKS = join(FIXTURES, 'dashboard-tasks.mjs');

/** One broker, with what its queueDepth can tell. */
interface BrokerCase {
  name: string;
  pkg: BrokerPackage;
  url: string;
  /** The broker carries Celery's events: the worker runs with --events and the dashboard lists it. */
  events: boolean;
  /** Fields of the queue row that are null ("-") on this broker. */
  unknown: readonly ('inFlight' | 'delayed')[];
  /** Kafka's group joins take seconds. */
  timeoutMs: number;
}

const BROKERS: BrokerCase[] = [
  {
    name: 'rabbitmq',
    pkg: 'amqp',
    url: AMQP,
    events: true,
    unknown: ['inFlight', 'delayed'],
    timeoutMs: 20_000,
  },
  {
    name: 'sqs',
    pkg: 'sqs',
    url: `sqs://${new URL(SQS_ENDPOINT).host}?waitTimeSeconds=1`,
    events: false,
    unknown: [],
    timeoutMs: 20_000,
  },
  {
    name: 'kafka',
    pkg: 'kafka',
    url: `kafka://${KAFKA_BOOTSTRAP}`,
    events: false,
    unknown: ['delayed'],
    timeoutMs: 45_000,
  },
];

const queueOf = (broker: BrokerCase) => `cli-dashboard-${RUN}-${broker.name}`;
const app = appWithBrokers(['amqp', 'sqs', 'kafka']);
const running: RunningBin[] = [];

afterAll(async () => {
  for (const bin of running) bin.child.kill('SIGTERM');
  await Promise.all(running.map((bin) => bin.exited.catch(() => {})));
  await Promise.allSettled([
    deleteRabbitQueues(app, AMQP, [queueOf(BROKERS[0]!)]),
    deleteSqsQueues(app, SQS_ENDPOINT, `cli-dashboard-${RUN}`),
    deleteKafkaTopics(app, KAFKA_BOOTSTRAP, [queueOf(BROKERS[2]!), `${queueOf(BROKERS[2]!)}.dlq`]),
  ]);
});

function start(args: string[]): RunningBin {
  const bin = startBin(args, { cwd: app });
  running.push(bin);
  return bin;
}

async function stop(bin: RunningBin): Promise<void> {
  bin.child.kill('SIGTERM');
  await bin.exited;
}

async function readState(url: string): Promise<DashboardSnapshot> {
  const response = await fetch(new URL('api/state', url));
  expect(response.status).toBe(200);
  return (await response.json()) as DashboardSnapshot;
}

/** The first state the dashboard pushes over Server-Sent Events. */
async function readStream(url: string): Promise<DashboardSnapshot> {
  const abort = new AbortController();
  const response = await fetch(new URL('api/stream', url), { signal: abort.signal });
  const reader = response.body!.getReader();
  let text = '';
  try {
    while (!/data: .*\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  } finally {
    abort.abort();
  }
  return JSON.parse(/data: (.*)\n/.exec(text)![1]!) as DashboardSnapshot;
}

function row(state: DashboardSnapshot, queue: string): QueueSnapshot {
  const found = state.queues.find((q) => q.name === queue);
  expect(found, `queue ${queue} in ${JSON.stringify(state.queues)}`).toBeDefined();
  return found!;
}

describe.each(BROKERS)('conveyor dashboard on $name', (broker) => {
  it('counts waiting and dead-lettered tasks, shows "-" where the broker cannot tell, and redrives', async () => {
    const queue = queueOf(broker);
    const started = Date.now();
    const transport: Transport = await transportInApp(app, broker.pkg, broker.url);
    await transport.connect();
    try {
      await transport.declareQueue({ name: queue });
      const client = new Client({ transport, defaultQueue: queue });

      const dashboard = start([
        'dashboard',
        '--broker',
        broker.url,
        '--queue',
        queue,
        '--listen',
        '127.0.0.1:0',
        '--poll-ms',
        '250',
        '--allow-redrive-purge',
      ]);
      await dashboard.waitForOutput('dashboard: serving', broker.timeoutMs);
      const url = /dashboard: serving (http:\/\/\S+)/.exec(dashboard.stdout())?.[1];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

      // A worker dead-letters two failing tasks, then stops; three more tasks wait.
      const worker = start([
        'worker',
        '--broker',
        broker.url,
        '--tasks',
        TASKS,
        '-Q',
        queue,
        ...(broker.events ? ['--events'] : []),
      ]);
      await worker.waitForOutput('ready:', broker.timeoutMs);
      const workerReady = Date.now();
      // Sent once the worker is ready: Worker.start() sends worker-online and starts its task events
      // only after it began consuming, so the events of tasks already waiting are lost.
      const doomed = [
        (await client.send('dashboard.doomed', [])).id,
        (await client.send('dashboard.doomed', [])).id,
      ];
      await vi.waitFor(
        async () => {
          expect(row(await readState(url!), queue).deadLettered).toBe(2);
          if (broker.events) {
            const state = await readState(url!);
            expect(state.workers.filter((w) => w.online).length).toBeGreaterThanOrEqual(1);
            expect(state.failures.map((f) => f.taskId)).toEqual(expect.arrayContaining(doomed));
          }
        },
        { timeout: broker.timeoutMs, interval: 250 },
      );
      const deadLettered = Date.now();
      await stop(worker);
      // SQS: a long poll the stopped worker left open at the broker would take a task sent now
      // (invisible for the visibility timeout); it ends after waitTimeSeconds (1 s).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await client.sendMany('dashboard.ok', [[1], [2], [3]]);

      await vi.waitFor(
        async () => {
          const polled = await readState(url!);
          expect(row(polled, queue)).toMatchObject({ ready: 3, deadLettered: 2, error: null });
        },
        { timeout: broker.timeoutMs, interval: 250 },
      );
      const state = await readState(url!);
      const counts = row(state, queue);
      expect(state).toMatchObject({ transport: transport.name, writable: true });
      // Null exactly where the transport's own queueDepth is undefined, and where this broker's is.
      const depth: QueueDepth = await transport.queueDepth(queue);
      for (const field of ['inFlight', 'delayed'] as const) {
        expect(counts[field] === null, field).toBe(depth[field] === undefined);
        expect(counts[field] === null, field).toBe(broker.unknown.includes(field));
        if (counts[field] !== null) expect(counts[field], field).toBe(0);
      }
      expect(state.events).toBe(broker.events);
      if (broker.events) {
        // Other workers on this broker (a CI run) send events too, under the same default hostname
        // (`conveyor worker` has no option to change it): only this test's failures are checked.
        expect(state.workers).toContainEqual(
          expect.objectContaining({
            hostname: expect.stringMatching(/^conveyor@/),
            software: expect.stringMatching(/^conveyor /),
          }),
        );
        const ours = state.failures.filter((f) => doomed.includes(f.taskId));
        expect(ours).toHaveLength(2);
        for (const failure of ours) {
          expect(failure).toMatchObject({ task: 'dashboard.doomed', retried: false });
          expect(failure.exception).toContain('doomed on purpose');
        }
        expect(state.rates?.failedPerMinute).toBeGreaterThanOrEqual(2);
      } else {
        // The page shows "no events on this broker" for these.
        expect(state.workers).toEqual([]);
        expect(state.failures).toEqual([]);
        expect(state.rates).toBeNull();
      }
      expect(row(await readStream(url!), queue)).toMatchObject({ ready: 3, deadLettered: 2 });

      const redrive = await fetch(new URL('api/dead-letters/redrive', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ queue }),
      });
      expect(redrive.status).toBe(200);
      expect(await redrive.json()).toMatchObject({ moved: 2, failed: 0 });
      const redriven = Date.now();
      // The redrive answers after a fresh poll.
      expect(row(await readState(url!), queue)).toMatchObject({ ready: 5, deadLettered: 0 });
      expect((await transport.queueDepth(queue)).ready).toBe(5);
      console.log(
        `[dashboard ${broker.name}] worker ready ${workerReady - started} ms, dead-lettered ${deadLettered - workerReady} ms, ` +
          `then counts and redrive ${redriven - deadLettered} ms, total ${Date.now() - started} ms`,
      );
      await stop(dashboard);
    } finally {
      await transport.close();
    }
  }, 90_000);
});
