import amqplib, { type ChannelModel } from 'amqplib';
import {
  AMQP_CONTENDERS,
  type AmqpContender,
  type AmqpTarget,
  amqpLibraryVersions,
  leftoversOf,
} from './amqp-contenders.js';
import {
  batchesInFlightColumn,
  caseTableLayout,
  cpuColumn,
  enqueueTable,
  pickupLatencySection,
  processTable,
} from './case-tables.js';
import { ENQUEUE_BATCH } from './contenders.js';
import { ratio } from './markdown-tables.js';
import { type BrokerSuiteOptions, type CaseRow, caseSummary, measureCases } from './measure-cases.js';
import { timePickupRun } from './pickup-run.js';
import { formatCount, machineLine } from './stats.js';
import { timeThroughputRun } from './throughput-run.js';

/** Options of the AMQP suite. */
export interface AmqpSuiteOptions extends BrokerSuiteOptions<AmqpContender['id']> {
  /** RabbitMQ, `amqp://user:password@host:port` (vhost `/`). */
  url: string;
}

/** One contender at one prefetch; its jobs are messages. */
export interface AmqpRow extends CaseRow<AmqpContender['id']> {
  prefetch: number;
}

/** Results of the AMQP suite. */
export interface AmqpSuiteResult {
  rows: AmqpRow[];
  rabbitmqVersion: string;
}

export const PREFETCHES = [1, 100] as const;

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Without the password, for messages and the Markdown. */
function describeUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** Opens the suite's own connection; fails with a clear message when RabbitMQ is not there. */
export async function openAmqpAdmin(url: string): Promise<ChannelModel> {
  try {
    const connection = await amqplib.connect(url, { timeout: 5000 });
    connection.on('error', () => {});
    return connection;
  } catch (error) {
    throw new Error(
      `RabbitMQ is not reachable at ${describeUrl(url)} (${error instanceof Error ? error.message : String(error)}); start it with \`bash tooling/brokers/brokers.sh up rabbitmq\``,
    );
  }
}

let sequence = 0;

/** A queue name no other case uses. */
function caseQueue(contender: AmqpContender, prefetch: number, kind: 'throughput' | 'pickup'): string {
  sequence += 1;
  return `conveyor-bench.${contender.id}.p${prefetch}.${kind}.${process.pid}.${sequence}`;
}

/** Deletes what a case declared, each on a channel of its own (a channel error closes only it). */
async function deleteCase(admin: ChannelModel, queue: string): Promise<void> {
  const { queues, exchanges } = leftoversOf(queue);
  for (const name of queues) {
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    await channel.deleteQueue(name).catch(() => {});
    await channel.close().catch(() => {});
  }
  for (const name of exchanges) {
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    await channel.deleteExchange(name).catch(() => {});
    await channel.close().catch(() => {});
  }
}

/** Runs `measure` on a queue no other run uses, and deletes what it declared after. */
async function onQueueOfItsOwn<T>(
  admin: ChannelModel,
  target: AmqpTarget,
  measure: (target: AmqpTarget) => Promise<T>,
): Promise<T> {
  try {
    return await measure(target);
  } finally {
    await deleteCase(admin, target.queue);
  }
}

/** Measures every contender on one RabbitMQ, every run on a queue of its own that is deleted after it. */
export async function runAmqpSuite(options: AmqpSuiteOptions): Promise<AmqpSuiteResult> {
  const log = options.log ?? (() => {});
  const admin = await openAmqpAdmin(options.url);
  const contenders = AMQP_CONTENDERS.filter((c) => !options.contenders || options.contenders.includes(c.id));
  const rows: AmqpRow[] = [];
  try {
    const rabbitmqVersion = String(admin.connection.serverProperties.version ?? '?');
    const { url, tasks } = options;
    const cases = measureCases({
      levels: PREFETCHES,
      contenders,
      runs: options.runs,
      throughput: (contender, prefetch) =>
        onQueueOfItsOwn(admin, { url, queue: caseQueue(contender, prefetch, 'throughput') }, (target) =>
          timeThroughputRun(contender.throughput(target, tasks, prefetch), tasks),
        ),
      pickup: (contender, prefetch) =>
        onQueueOfItsOwn(admin, { url, queue: caseQueue(contender, prefetch, 'pickup') }, (target) =>
          timePickupRun(
            (hooks) => contender.pickup(target, prefetch, hooks),
            options.samples,
            `${contender.name}: pickup message`,
          ),
        ),
    });
    for await (const { contender, level: prefetch, figures } of cases) {
      rows.push({ contender: contender.id, name: contender.name, prefetch, ...figures });
      log(`  ${contender.name} @ prefetch ${prefetch}: ${caseSummary(figures)}`);
    }
    return { rows, rabbitmqVersion };
  } finally {
    await admin.close().catch(() => {});
  }
}

/** The Markdown section for docs/benchmarks.md. */
export function amqpSuiteMarkdown(
  result: AmqpSuiteResult,
  options: Pick<AmqpSuiteOptions, 'tasks' | 'runs' | 'samples' | 'url'>,
  command: string,
): string {
  const { rows } = result;
  const layout = caseTableLayout(rows, {
    level: { header: 'prefetch', of: (row) => row.prefetch },
    rateHeader: 'msgs/s (median)',
    anchors: [
      ['raw amqplib', 'raw'],
      ['celery-node', 'celery-node'],
    ],
  });
  const processAt100 = (id: AmqpContender['id']): number | undefined =>
    rows.find((r) => r.contender === id && r.prefetch === 100)?.process.median;
  const lines: string[] = [];
  lines.push(
    `Command: \`${command}\` (N = ${formatCount(options.tasks)} no-op messages per throughput run, ${options.samples} sequential messages per pickup run, median of ${options.runs} runs after one warm-up).`,
    `Machine: ${machineLine()}; RabbitMQ ${result.rabbitmqVersion} at ${describeUrl(options.url)} (same machine), classic durable queues, one new queue per run, deleted after it. Libraries: ${amqpLibraryVersions()}.`,
    '',
    'How measured: every case runs alone, one after the other, in one Node process that is both producer and',
    'consumer, on a queue of its own; each closes all its connections and deletes its queue before the next',
    `starts. *Enqueue*: N persistent messages published in batches of ${ENQUEUE_BATCH} on a confirm channel, each batch`,
    'awaited until the broker confirmed all of it, with as many batches in flight as the prefetch (capped at',
    'N / 500), no consumer running (Conveyor `client.sendMany`; the raw anchor one `publish` with a confirm',
    'callback per message). celery-node has no publisher confirms and its `sendTask` returns before anything',
    'is written (it declares the queue and its exchange again before every message): its enqueue is timed',
    'until the queue holds N messages (passive `queue.declare` every 2 ms). *Process*: the consumer is then',
    'started with basic.qos = prefetch on the N queued messages and timed until the N-th is done: Conveyor',
    '`succeeded` (after its ack; `Worker` concurrency = prefetch; acks go out once per event-loop turn, a',
    'contiguous run of tags as one `basic.ack(multiple)`), the raw anchor after `channel.ack` of each message that',
    'follows the no-op handler. **celery-node acks every message when it arrives, before running it** (so',
    'its prefetch window never fills and a crash loses what it holds): it is done when its handler has',
    'finished. Node CPU per message is this process over that window. *Pickup*: with the consumer idle, one',
    'message at a time is sent carrying `performance.timeOrigin + performance.now()`, and the handler reads',
    'the clock when it starts; the next goes 5 ms after the previous one finished. Settings: Conveyor',
    '`AmqpTransport` defaults (heartbeat 30 s, Nagle off), `ignoreResult` task, no result backend; raw',
    'anchor: amqplib with Nagle off, durable queue, `persistent: true`, confirm channel, `channel.prefetch(p)`,',
    'manual ack after the handler (the at-least-once ceiling), body `{"i":n}` and no headers. The second raw',
    'row is the same loop sending what @conveyor/amqp and Celery send: a Celery protocol-2 message (16 AMQP',
    'headers, JSON body, a UUID per message), to tell the cost of the wire format (mostly paid by the broker,',
    'which parses and stores the headers table) from the cost of the library. celery-node: `createClient`/`createWorker`',
    'with its AMQP broker and `noDelay: true` in its broker options (with Nagle on, each of the RPCs it makes',
    "per `sendTask` waits ~40 ms: 45 messages/s here); it needs a result backend and stores every task's result (its AMQP backend",
    'declares one queue per task), so the bench gives it one that stores nothing; it sets no basic.qos, so',
    'the bench sets the prefetch on its worker channel; its two `console.info` lines per task are silenced.',
    'Ratios divide by the raw-amqplib or celery-node figure at the same prefetch; for latency, lower is better.',
    '',
  );

  lines.push('### Process: draining N queued persistent messages', '');
  lines.push(...processTable(rows, layout, [cpuColumn('Node CPU µs/msg', (row) => row.nodeCpuUsPerJob)]));

  const wire = processAt100('raw-celery-format');
  const bare = processAt100('raw');
  const ours = processAt100('conveyor');
  if (wire !== undefined && bare !== undefined && ours !== undefined) {
    lines.push(
      '',
      `Wire format: at prefetch 100 the raw loop moves ${ratio(wire, bare)} as many Celery-format messages as bare`,
      `ones, and @conveyor/amqp does ${ratio(ours, wire)} of the raw loop at that same wire format (coalesced acks).`,
      "The difference is paid by RabbitMQ's queue process, the one serial stage: it keeps every queued",
      "message's headers table decoded on its heap (about 2.3 KB per Celery message against 0.6 KB",
      'for a bare one, read from the process with 20,000 queued); how its garbage collector sizes that heap',
      'while a backlog drains decides between two modes, visible in the runs column: a few full',
      'collections of the whole backlog (the slow runs) or many minor ones on a grown heap (the fast runs, where Celery-format messages drain nearly as',
      'fast as bare ones). Node CPU per message barely moves between the modes. Celery compatibility requires',
      'the headers as an AMQP table, so the raw row at the same wire format is the like-for-like ceiling.',
      'celery-node sends 3 headers (`lang`, `task`, `id`) where Celery sends 16, which is most of its lead here.',
    );
  }

  lines.push('', `### Enqueue: confirmed bulk publish in batches of ${ENQUEUE_BATCH}`, '');
  const inFlight = batchesInFlightColumn<AmqpRow>(options.tasks, layout.level);
  lines.push(
    ...enqueueTable(rows, layout, {
      ...inFlight,
      // celery-node publishes without confirms: nothing holds its batches back.
      cell: (row) => (row.contender === 'celery-node' ? 'all (no confirms)' : inFlight.cell(row)),
    }),
  );
  lines.push(
    '',
    'The enqueue rows are listed under the prefetch of their case: the prefetch sets how many batches are in flight.',
  );

  lines.push('', ...pickupLatencySection(rows, layout));
  return lines.join('\n');
}
