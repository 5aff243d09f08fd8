import { Redis } from 'ioredis';
import {
  batchesInFlightColumn,
  caseTableLayout,
  cpuColumn,
  enqueueTable,
  pickupLatencySection,
  processTable,
} from './case-tables.js';
import { ENQUEUE_BATCH } from './contenders.js';
import { type BrokerSuiteOptions, type CaseRow, caseSummary, measureCases } from './measure-cases.js';
import { timePickupRun } from './pickup-run.js';
import { CONTENDERS, type Contender, libraryVersions, type RedisTarget } from './redis-contenders.js';
import { formatCount, machineLine, median } from './stats.js';
import { timeThroughputRun } from './throughput-run.js';

/** Options of the Redis suite. */
export interface RedisSuiteOptions extends BrokerSuiteOptions<Contender['id']> {
  target: RedisTarget;
}

/** One contender at one concurrency. */
export interface RedisRow extends CaseRow<Contender['id']> {
  concurrency: number;
  /** CPU of the Redis server per processed job (µs), median of runs. */
  redisCpuUsPerJob: number;
}

/** Results of the Redis suite. */
export interface RedisSuiteResult {
  rows: RedisRow[];
  redisVersion: string;
}

export const CONCURRENCIES = [1, 50] as const;

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

/** Measures every contender on one Redis database, flushed before every run and left empty after. */
export async function runRedisSuite(options: RedisSuiteOptions): Promise<RedisSuiteResult> {
  const log = options.log ?? (() => {});
  const admin = await openAdmin(options.target);
  const contenders = CONTENDERS.filter((c) => !options.contenders || options.contenders.includes(c.id));
  const rows: RedisRow[] = [];
  try {
    const redisVersion = await infoField(admin, 'server', 'redis_version');
    const { target, tasks } = options;
    const cases = measureCases({
      levels: CONCURRENCIES,
      contenders,
      runs: options.runs,
      async throughput(contender, concurrency) {
        await admin.flushdb();
        return timeThroughputRun(contender.throughput(target, tasks, concurrency), tasks, () =>
          redisCpuSeconds(admin),
        );
      },
      async pickup(contender, concurrency) {
        await admin.flushdb();
        return timePickupRun(
          (hooks) => contender.pickup(target, concurrency, hooks),
          options.samples,
          `${contender.name}: pickup job`,
        );
      },
    });
    for await (const { contender, level: concurrency, figures, throughput } of cases) {
      rows.push({
        contender: contender.id,
        name: contender.name,
        concurrency,
        ...figures,
        redisCpuUsPerJob: median(throughput.map((t) => t.brokerCpuUsPerJob)),
      });
      log(`  ${contender.name} @ ${concurrency}: ${caseSummary(figures)}`);
    }
    await admin.flushdb();
    return { rows, redisVersion };
  } finally {
    admin.disconnect();
  }
}

/** The Markdown section for docs/benchmarks.md. */
export function redisSuiteMarkdown(
  result: RedisSuiteResult,
  options: Pick<RedisSuiteOptions, 'tasks' | 'runs' | 'samples' | 'target'>,
  command: string,
): string {
  const { rows } = result;
  const layout = caseTableLayout(rows, {
    level: { header: 'concurrency', of: (row) => row.concurrency },
    rateHeader: 'jobs/s (median)',
    anchors: [
      ['BullMQ', 'bullmq'],
      ['raw loop', 'raw'],
    ],
  });
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
    ...processTable(rows, layout, [
      cpuColumn('Node CPU µs/job', (row) => row.nodeCpuUsPerJob),
      cpuColumn('Redis CPU µs/job', (row) => row.redisCpuUsPerJob),
    ]),
  );

  lines.push('', `### Enqueue: bulk add in batches of ${ENQUEUE_BATCH}`, '');
  lines.push(...enqueueTable(rows, layout, batchesInFlightColumn(options.tasks, layout.level)));

  lines.push('', ...pickupLatencySection(rows, layout));
  return lines.join('\n');
}
