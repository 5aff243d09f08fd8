import { Redis } from 'ioredis';
import {
  CONTENDERS,
  type Contender,
  ENQUEUE_BATCH,
  libraryVersions,
  nowMs,
  type RedisTarget,
} from './redis-contenders.js';
import { formatCount, machineLine, median, percentile, repeat } from './stats.js';

/** Options of the Redis suite. */
export interface RedisSuiteOptions {
  /** Jobs per throughput run. */
  tasks: number;
  /** Measured runs per case (after one warm-up); the median is reported. */
  runs: number;
  /** Jobs sent one at a time per pickup-latency run. */
  samples: number;
  target: RedisTarget;
  /** Contenders to run (default all). */
  contenders?: readonly Contender['id'][];
  /** Progress lines. */
  log?: (line: string) => void;
}

/** A measured figure: the median and every run it came from. */
export interface Figure {
  median: number;
  runs: number[];
}

/** One contender at one concurrency. */
export interface RedisRow {
  contender: Contender['id'];
  name: string;
  concurrency: number;
  /** jobs/s of the bulk add, `concurrency` batches in flight. */
  enqueue: Figure;
  /** jobs/s of a worker draining N pre-enqueued jobs. */
  process: Figure;
  /** CPU of this Node process and of the Redis server per processed job (µs), median of runs. */
  nodeCpuUsPerJob: number;
  redisCpuUsPerJob: number;
  /** Idle pickup latency (ms): median over runs of each run's p50 and p99. */
  pickupP50: Figure;
  pickupP99: Figure;
}

/** Results of the Redis suite. */
export interface RedisSuiteResult {
  rows: RedisRow[];
  redisVersion: string;
}

export const CONCURRENCIES = [1, 50] as const;

/** Pings before the recorded samples of each pickup run (connections and scripts warm). */
const PICKUP_WARMUP = 5;
/** Pause before each pickup sample, so the worker is back to waiting when the job is sent. */
const PICKUP_GAP_MS = 5;
const PICKUP_TIMEOUT_MS = 10_000;

/** Opens the suite's own connection; fails with a clear message when Redis is not there. */
export async function openAdmin(target: RedisTarget): Promise<Redis> {
  const admin = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  admin.on('error', () => {});
  try {
    await admin.connect();
    await admin.ping();
  } catch (error) {
    admin.disconnect();
    throw new Error(
      `Redis is not reachable at ${target.host}:${target.port} (${error instanceof Error ? error.message : String(error)}); start it with \`bash tooling/brokers/brokers.sh up redis\``,
    );
  }
  return admin;
}

async function infoField(admin: Redis, section: string, field: string): Promise<string> {
  const info = await admin.info(section);
  const line = info.split('\r\n').find((l) => l.startsWith(`${field}:`));
  return line?.slice(field.length + 1) ?? '?';
}

/** CPU seconds the Redis server has used (user + system), from INFO cpu. */
async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  let total = 0;
  for (const line of info.split('\r\n')) {
    const [key, value] = line.split(':');
    if (key === 'used_cpu_sys' || key === 'used_cpu_user') total += Number(value);
  }
  return total;
}

interface ThroughputSample {
  enqueue: number;
  process: number;
  nodeCpuUsPerJob: number;
  redisCpuUsPerJob: number;
}

/** One throughput run on a flushed database: timed enqueue, then timed processing. */
async function throughputRun(
  admin: Redis,
  contender: Contender,
  target: RedisTarget,
  tasks: number,
  concurrency: number,
): Promise<ThroughputSample> {
  await admin.flushdb();
  const run = contender.throughput(target, tasks, concurrency);
  try {
    await run.open();
    const enqueueStarted = performance.now();
    await run.enqueue();
    const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
    const redisCpu = await redisCpuSeconds(admin);
    const nodeCpu = process.cpuUsage();
    const processStarted = performance.now();
    await run.process();
    const processSeconds = (performance.now() - processStarted) / 1000;
    const nodeCpuUsed = process.cpuUsage(nodeCpu);
    const redisCpuUsed = (await redisCpuSeconds(admin)) - redisCpu;
    return {
      enqueue: tasks / enqueueSeconds,
      process: tasks / processSeconds,
      nodeCpuUsPerJob: (nodeCpuUsed.user + nodeCpuUsed.system) / tasks,
      redisCpuUsPerJob: (redisCpuUsed * 1e6) / tasks,
    };
  } finally {
    await run.close();
  }
}

/** One pickup run: an idle worker, `samples` jobs sent one at a time; latencies in ms. */
async function pickupRun(
  admin: Redis,
  contender: Contender,
  target: RedisTarget,
  samples: number,
  concurrency: number,
): Promise<{ p50: number; p99: number }> {
  await admin.flushdb();
  const latencies: number[] = [];
  let recording = false;
  let onDone: (() => void) | undefined;
  const run = contender.pickup(target, concurrency, {
    started(sentAt) {
      const ms = nowMs() - sentAt;
      if (recording) latencies.push(ms);
    },
    done: () => onDone?.(),
  });
  try {
    await run.start();
    for (let i = 0; i < PICKUP_WARMUP + samples; i++) {
      recording = i >= PICKUP_WARMUP;
      await new Promise((resolve) => setTimeout(resolve, PICKUP_GAP_MS));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = new Promise<void>((resolve, reject) => {
        onDone = resolve;
        timer = setTimeout(
          () => reject(new Error(`${contender.name}: pickup job not done after ${PICKUP_TIMEOUT_MS} ms`)),
          PICKUP_TIMEOUT_MS,
        );
      });
      try {
        await run.send(nowMs());
        await done;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await run.close();
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function figure(values: number[]): Figure {
  return { median: median(values), runs: values };
}

/**
 * Measures every contender on one Redis database, one case after the other (never in parallel):
 * for each concurrency and contender, throughput runs (enqueue + process) then pickup runs.
 */
export async function runRedisSuite(options: RedisSuiteOptions): Promise<RedisSuiteResult> {
  const log = options.log ?? (() => {});
  const admin = await openAdmin(options.target);
  const contenders = CONTENDERS.filter((c) => !options.contenders || options.contenders.includes(c.id));
  const rows: RedisRow[] = [];
  try {
    const redisVersion = await infoField(admin, 'server', 'redis_version');
    for (const concurrency of CONCURRENCIES) {
      for (const contender of contenders) {
        const throughput = await repeat(options.runs, () =>
          throughputRun(admin, contender, options.target, options.tasks, concurrency),
        );
        const pickup = await repeat(options.runs, () =>
          pickupRun(admin, contender, options.target, options.samples, concurrency),
        );
        const row: RedisRow = {
          contender: contender.id,
          name: contender.name,
          concurrency,
          enqueue: figure(throughput.map((t) => t.enqueue)),
          process: figure(throughput.map((t) => t.process)),
          nodeCpuUsPerJob: median(throughput.map((t) => t.nodeCpuUsPerJob)),
          redisCpuUsPerJob: median(throughput.map((t) => t.redisCpuUsPerJob)),
          pickupP50: figure(pickup.map((p) => p.p50)),
          pickupP99: figure(pickup.map((p) => p.p99)),
        };
        rows.push(row);
        log(
          `  ${contender.name} @ ${concurrency}: enqueue ${formatCount(row.enqueue.median)}/s, process ${formatCount(row.process.median)}/s, pickup p50 ${row.pickupP50.median.toFixed(2)} ms p99 ${row.pickupP99.median.toFixed(2)} ms`,
        );
      }
    }
    await admin.flushdb();
    return { rows, redisVersion };
  } finally {
    admin.disconnect();
  }
}

function ratio(value: number, reference: number | undefined): string {
  return reference === undefined || reference === 0 ? '' : `${(value / reference).toFixed(2)}×`;
}

function ms(value: number): string {
  return value.toFixed(2);
}

/** The Markdown section for docs/benchmarks.md. */
export function redisSuiteMarkdown(
  result: RedisSuiteResult,
  options: Pick<RedisSuiteOptions, 'tasks' | 'runs' | 'samples' | 'target'>,
  command: string,
): string {
  const { rows } = result;
  const find = (id: Contender['id'], concurrency: number): RedisRow | undefined =>
    rows.find((r) => r.contender === id && r.concurrency === concurrency);
  const lines: string[] = [];
  lines.push(
    `Command: \`${command}\` (N = ${formatCount(options.tasks)} no-op jobs per throughput run, ${options.samples} sequential jobs per pickup run, median of ${options.runs} runs after one warm-up).`,
    `Machine: ${machineLine()}; Redis ${result.redisVersion} on ${options.target.host}:${options.target.port} (same machine), db ${options.target.db}, flushed before every run. Libraries: ${libraryVersions()}.`,
    '',
    'How measured: every case runs alone, one after the other, in one Node process that is both producer and',
    'worker; each closes all its connections before the next starts. *Enqueue*: N jobs added in bulk, batches',
    `of ${ENQUEUE_BATCH} (Conveyor \`client.sendMany\`, BullMQ \`addBulk\`, bee-queue \`saveAll\`, one \`LPUSH\` for the raw loop),`,
    'with as many batches in flight as the concurrency (capped at N / 500), no worker running. *Process*: the',
    'worker is then started with that concurrency on the N queued jobs and timed until the N-th is acknowledged',
    '(Conveyor `succeeded` after the ack, BullMQ `completed`, bee-queue `succeeded`, the raw loop after `LREM`);',
    'CPU per job is this process (producer idle) and the Redis server (INFO cpu) over that window. *Pickup*:',
    'with the worker idle, one job at a time is sent carrying `performance.timeOrigin + performance.now()`, and',
    'the handler reads the clock when it starts; the next job goes 5 ms after the previous one finished.',
    'Settings: Conveyor `RedisTransport` defaults (visibility timeout 60 s, poll 200 ms, wake-up by pub/sub),',
    '`ignoreResult` task, no result backend; raw loop: one connection per concurrent loop, `BLMOVE ready',
    'processing RIGHT LEFT 1`, no-op, `LREM processing 1 item`, tiny payloads (the at-least-once ceiling); BullMQ',
    '`Queue` + `Worker` (concurrency c), jobs with `removeOnComplete`/`removeOnFail: true`; bee-queue producer',
    'and worker queues with `removeOnSuccess`/`removeOnFailure: true`, `process(c, handler)`, job events',
    'off (`getEvents`/`sendEvents: false`). Ratios divide by the BullMQ or raw-loop figure at the same',
    'concurrency; for latency, lower is better.',
    '',
  );

  lines.push('### Process: draining N queued jobs', '');
  lines.push(
    '| contender | concurrency | jobs/s (median) | vs BullMQ | vs raw loop | Node CPU µs/job | Redis CPU µs/job | runs |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${row.concurrency} | ${formatCount(row.process.median)} | ${ratio(row.process.median, find('bullmq', row.concurrency)?.process.median)} | ${ratio(row.process.median, find('raw', row.concurrency)?.process.median)} | ${Math.round(row.nodeCpuUsPerJob)} | ${Math.round(row.redisCpuUsPerJob)} | ${row.process.runs.map(formatCount).join(', ')} |`,
    );
  }

  lines.push('', `### Enqueue: bulk add in batches of ${ENQUEUE_BATCH}`, '');
  lines.push(
    '| contender | batches in flight | jobs/s (median) | vs BullMQ | vs raw loop | runs |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  );
  for (const row of rows) {
    const inFlight = Math.max(1, Math.min(row.concurrency, Math.ceil(options.tasks / ENQUEUE_BATCH)));
    lines.push(
      `| ${row.name} | ${inFlight} | ${formatCount(row.enqueue.median)} | ${ratio(row.enqueue.median, find('bullmq', row.concurrency)?.enqueue.median)} | ${ratio(row.enqueue.median, find('raw', row.concurrency)?.enqueue.median)} | ${row.enqueue.runs.map(formatCount).join(', ')} |`,
    );
  }

  lines.push('', '### Idle pickup latency: send to handler start (ms, lower is better)', '');
  lines.push(
    '| contender | concurrency | p50 | p50 vs BullMQ | p50 vs raw loop | p99 | p99 vs BullMQ | p99 vs raw loop | runs (p50 / p99) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const row of rows) {
    const bull = find('bullmq', row.concurrency);
    const raw = find('raw', row.concurrency);
    lines.push(
      `| ${row.name} | ${row.concurrency} | ${ms(row.pickupP50.median)} | ${ratio(row.pickupP50.median, bull?.pickupP50.median)} | ${ratio(row.pickupP50.median, raw?.pickupP50.median)} | ${ms(row.pickupP99.median)} | ${ratio(row.pickupP99.median, bull?.pickupP99.median)} | ${ratio(row.pickupP99.median, raw?.pickupP99.median)} | ${row.pickupP50.runs.map(ms).join(', ')} / ${row.pickupP99.runs.map(ms).join(', ')} |`,
    );
  }
  return lines.join('\n');
}
