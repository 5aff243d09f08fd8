import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from '@conveyor/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseMetricsAddress } from '../src/metrics-server.js';
import { deleteRabbitQueues, deleteRedisKeys } from './broker-cleanup.js';
import { appWithBrokers, type BrokerPackage, FIXTURES, runBin, startBin, transportInApp } from './helpers.js';

/** `conveyor worker --metrics` on Redis and RabbitMQ: the real bin, scraped over HTTP while tasks run and fail. */
const REDIS = 'redis://127.0.0.1:6379/12';
const AMQP = 'amqp://guest:guest@127.0.0.1:5672';
const RUN = Math.random().toString(36).slice(2, 8);
const TASKS = join(FIXTURES, 'metrics-tasks.mjs');
const app = appWithBrokers(['redis', 'amqp']);
const BROKERS: readonly { name: string; pkg: BrokerPackage; url: string }[] = [
  { name: 'redis', pkg: 'redis', url: REDIS },
  { name: 'rabbitmq', pkg: 'amqp', url: AMQP },
];

afterAll(async () => {
  await deleteRedisKeys(app, REDIS, `cli-metrics-${RUN}*`);
  await deleteRabbitQueues(app, AMQP, [`cli-metrics-${RUN}-rabbitmq`]);
});

/** One sample line of a scrape: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
      return { name: match[1]!, labels, value: match[3] === '+Inf' ? Infinity : Number(match[3]) };
    });
}

/** The value of the sample named `name` whose labels include `labels`, or 0 when there is none. */
function sampleValue(scrape: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = scrape.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

describe.each(BROKERS)('conveyor worker --metrics on $name', (broker) => {
  it('serves Prometheus text whose counters match what the worker did', async () => {
    const queue = `cli-metrics-${RUN}-${broker.name}`;
    const worker = startBin(
      ['worker', '--broker', broker.url, '--tasks', TASKS, '-Q', queue, '--metrics', '127.0.0.1:0'],
      { cwd: app },
    );
    try {
      await worker.waitForOutput('ready: consuming', 30_000);
      const url = /metrics: serving (http:\/\/\S+)/.exec(worker.stdout())?.[1];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

      const transport = await transportInApp(app, broker.pkg, broker.url);
      const client = new Client({ transport, defaultQueue: queue, sentTimestamp: true });
      try {
        await client.sendMany('metrics.ok', [[1], [2], [3], [4], [5]]);
        await client.sendMany('metrics.flaky', [[], []]);
        await client.send('metrics.doomed', []);
        // Sent without the timestamp: counted, but no latency.
        await new Client({ transport, defaultQueue: queue }).send('metrics.ok', [6]);
      } finally {
        await transport.close();
      }

      const labels = (task: string) => ({ queue, task });
      let scrape: Sample[] = [];
      let response: Response | undefined;
      await vi
        .waitFor(
          async () => {
            response = await fetch(url!);
            scrape = samples(await response.text());
            expect(sampleValue(scrape, 'conveyor_tasks_succeeded_total', labels('metrics.ok'))).toBe(6);
            expect(sampleValue(scrape, 'conveyor_tasks_failed_total', labels('metrics.flaky'))).toBe(2);
            expect(sampleValue(scrape, 'conveyor_tasks_failed_total', labels('metrics.doomed'))).toBe(1);
            // A failure is counted before its message is dead-lettered and settled.
            expect(sampleValue(scrape, 'conveyor_tasks_dead_lettered_total', labels('metrics.flaky'))).toBe(
              2,
            );
            expect(sampleValue(scrape, 'conveyor_tasks_dead_lettered_total', labels('metrics.doomed'))).toBe(
              1,
            );
            expect(sampleValue(scrape, 'conveyor_tasks_in_flight')).toBe(0);
          },
          { timeout: 30_000, interval: 200 },
        )
        .catch((error: unknown) => {
          throw new Error(
            `${String(error)}\nworker output:\n${worker.stdout()}\nscrape:\n${JSON.stringify(scrape)}`,
          );
        });
      expect(response?.status, worker.stdout()).toBe(200);
      expect(response?.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      // Each flaky task: delivered twice (the retry is a new message), retried once, failed once.
      expect(sampleValue(scrape, 'conveyor_tasks_received_total', labels('metrics.ok'))).toBe(6);
      expect(sampleValue(scrape, 'conveyor_tasks_received_total', labels('metrics.flaky'))).toBe(4);
      expect(sampleValue(scrape, 'conveyor_tasks_retried_total', labels('metrics.flaky'))).toBe(2);
      expect(sampleValue(scrape, 'conveyor_tasks_retried_total', labels('metrics.ok'))).toBe(0);
      expect(sampleValue(scrape, 'conveyor_tasks_failed_total', labels('metrics.ok'))).toBe(0);
      const durations = (task: string, outcome: string) =>
        sampleValue(scrape, 'conveyor_task_duration_seconds_count', { ...labels(task), outcome });
      expect(durations('metrics.ok', 'succeeded')).toBe(6);
      expect(durations('metrics.flaky', 'retried')).toBe(2);
      expect(durations('metrics.flaky', 'failed')).toBe(2);
      expect(
        sampleValue(scrape, 'conveyor_task_duration_seconds_bucket', {
          ...labels('metrics.ok'),
          outcome: 'succeeded',
          le: '+Inf',
        }),
      ).toBe(6);
      // Latency only for the five sent with a timestamp.
      expect(sampleValue(scrape, 'conveyor_task_latency_seconds_count', labels('metrics.ok'))).toBe(5);
      // Read from the broker at scrape time.
      expect(scrape.find((s) => s.name === 'conveyor_queue_depth' && s.labels.queue === queue)).toBeDefined();
      expect(sampleValue(scrape, 'conveyor_queue_depth', { queue, state: 'ready' })).toBe(0);

      const base = url!.replace(/\/metrics$/, '');
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(url!, { method: 'POST' })).status).toBe(405);
      console.log(
        `[metrics ${broker.name}] latency sum ${sampleValue(scrape, 'conveyor_task_latency_seconds_sum', labels('metrics.ok')).toFixed(4)} s over 5 tasks; ` +
          `duration sum ${sampleValue(scrape, 'conveyor_task_duration_seconds_sum', { ...labels('metrics.ok'), outcome: 'succeeded' }).toFixed(4)} s over 6`,
      );
    } finally {
      worker.child.kill('SIGTERM');
    }
    const result = await worker.exited;
    expect(result.code, result.stderr).toBe(0);
  }, 90_000);
});

describe('conveyor worker --metrics', () => {
  it('reads [HOST]:PORT, 127.0.0.1 when the host is left out', () => {
    expect(parseMetricsAddress('worker', ':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('worker', '9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('worker', '0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseMetricsAddress('worker', 'localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseMetricsAddress('worker', '[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    for (const bad of ['', ':', 'host', '::1:9464', '[host]:9464', ':65536', 'h:p']) {
      expect(() => parseMetricsAddress('worker', bad), bad).toThrow(/--metrics must be/);
    }
  });

  it('fails at start naming --metrics for a bad address or a port in use', async () => {
    for (const value of ['nope', ':99999', 'a b:9464', '[not-ipv6]:9464', '9464:']) {
      const result = await runBin(['worker', '--broker', REDIS, '--tasks', TASKS, '--metrics', value], {
        cwd: app,
      });
      expect(result.code, `${value}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/--metrics must be \[HOST\]:PORT/);
    }
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const result = await runBin(['worker', '--broker', REDIS, '--tasks', TASKS, '--metrics', `:${port}`], {
        cwd: app,
      });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`--metrics: cannot listen on 127.0.0.1:${port}: the port is in use`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 60_000);
});
