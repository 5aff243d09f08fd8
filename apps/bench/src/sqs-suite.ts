import { DeleteQueueCommand, ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  batchesInFlightColumn,
  caseTableLayout,
  cpuColumn,
  enqueueTable,
  pickupLatencySection,
  processTable,
} from './case-tables.js';
import { ratio } from './markdown-tables.js';
import { type BrokerSuiteOptions, type CaseRow, caseSummary, measureCases } from './measure-cases.js';
import { timePickupRun } from './pickup-run.js';
import {
  pollersAt,
  SQS_BATCH,
  SQS_CONTENDERS,
  type SqsContender,
  type SqsTarget,
  sqsClient,
  sqsLibraryVersions,
} from './sqs-contenders.js';
import { formatCount, machineLine } from './stats.js';
import { timeThroughputRun } from './throughput-run.js';

/** Options of the SQS suite. */
export interface SqsSuiteOptions extends BrokerSuiteOptions<SqsContender['id']> {
  /** The SQS endpoint, e.g. ElasticMQ's `http://127.0.0.1:9324`. */
  endpoint: string;
  region: string;
}

/** One contender at one concurrency; its jobs are messages. */
export interface SqsRow extends CaseRow<SqsContender['id']> {
  concurrency: number;
}

/** Results of the SQS suite. */
export interface SqsSuiteResult {
  rows: SqsRow[];
}

export const SQS_CONCURRENCIES = [1, 50] as const;

export const DEFAULT_SQS_ENDPOINT = 'http://127.0.0.1:9324';
export const DEFAULT_SQS_REGION = 'us-east-1';

/** Opens the suite's own client; fails with a clear message when the server is not there. */
export async function openSqsAdmin(endpoint: string, region: string): Promise<SQSClient> {
  const admin = sqsClient({ endpoint, region });
  try {
    await admin.send(new ListQueuesCommand({ MaxResults: 1 }), { abortSignal: AbortSignal.timeout(5000) });
    return admin;
  } catch (error) {
    admin.destroy();
    throw new Error(
      `SQS is not reachable at ${endpoint} (${error instanceof Error ? error.message : String(error)}); start ElasticMQ with \`bash tooling/brokers/brokers.sh up sqs\``,
    );
  }
}

let sequence = 0;

/** The prefix every queue of this process's bench runs starts with. */
export function sqsBenchPrefix(pid = process.pid): string {
  return `conveyor-bench-${pid}-`;
}

/** A queue name no other case uses (SQS names: letters, digits, `-`, `_`, at most 80). */
function caseQueue(contender: SqsContender, concurrency: number, kind: 'throughput' | 'pickup'): string {
  sequence += 1;
  return `${sqsBenchPrefix()}${sequence}-${contender.id}-c${concurrency}-${kind}`;
}

/** Deletes the case's queue and any its contender made beside it (a dead-letter queue): all share its name as prefix. */
export async function deleteQueuesStartingWith(admin: SQSClient, prefix: string): Promise<void> {
  const { QueueUrls } = await admin.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
  for (const url of QueueUrls ?? [])
    await admin.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
}

/** Runs `measure` on a queue no other run uses, and deletes it (and its siblings) after. */
async function onQueueOfItsOwn<T>(
  admin: SQSClient,
  target: SqsTarget,
  measure: (target: SqsTarget) => Promise<T>,
): Promise<T> {
  try {
    return await measure(target);
  } finally {
    await deleteQueuesStartingWith(admin, target.queue);
  }
}

/** Measures every contender on one SQS server, every run on a queue of its own that is deleted after it. */
export async function runSqsSuite(options: SqsSuiteOptions): Promise<SqsSuiteResult> {
  const log = options.log ?? (() => {});
  const admin = await openSqsAdmin(options.endpoint, options.region);
  const contenders = SQS_CONTENDERS.filter((c) => !options.contenders || options.contenders.includes(c.id));
  const rows: SqsRow[] = [];
  try {
    const { endpoint, region, tasks } = options;
    const target = (queue: string): SqsTarget => ({ endpoint, region, queue });
    const cases = measureCases({
      levels: SQS_CONCURRENCIES,
      contenders,
      runs: options.runs,
      throughput: (contender, concurrency) =>
        onQueueOfItsOwn(admin, target(caseQueue(contender, concurrency, 'throughput')), (t) =>
          timeThroughputRun(contender.throughput(t, tasks, concurrency), tasks),
        ),
      pickup: (contender, concurrency) =>
        onQueueOfItsOwn(admin, target(caseQueue(contender, concurrency, 'pickup')), (t) =>
          timePickupRun(
            (hooks) => contender.pickup(t, concurrency, hooks),
            options.samples,
            `${contender.name}: pickup message`,
          ),
        ),
    });
    for await (const { contender, level: concurrency, figures } of cases) {
      rows.push({ contender: contender.id, name: contender.name, concurrency, ...figures });
      log(`  ${contender.name} @ ${concurrency}: ${caseSummary(figures)}`);
    }
    return { rows };
  } finally {
    admin.destroy();
  }
}

/** The Markdown section for docs/benchmarks.md. */
export function sqsSuiteMarkdown(
  result: SqsSuiteResult,
  options: Pick<SqsSuiteOptions, 'tasks' | 'runs' | 'samples' | 'endpoint'>,
  command: string,
): string {
  const { rows } = result;
  const layout = caseTableLayout(rows, {
    level: { header: 'concurrency', of: (row) => row.concurrency },
    rateHeader: 'msgs/s (median)',
    anchors: [
      ['raw loop', 'raw'],
      ['sqs-consumer batch', 'sqs-consumer-batch'],
    ],
  });
  const lines: string[] = [];
  lines.push(
    `Command: \`${command}\` (N = ${formatCount(options.tasks)} no-op messages per throughput run, ${options.samples} sequential messages per pickup run, median of ${options.runs} runs after one warm-up).`,
    `Machine: ${machineLine()}; SQS-compatible server at ${options.endpoint} (same machine; tooling/brokers starts ElasticMQ), standard queues (the anchors create theirs with the server's defaults, @conveyor/sqs with its own: visibility timeout 300 s), one new queue per run, deleted after it. Libraries: ${sqsLibraryVersions()}.`,
    '',
    'How measured: every case runs alone, one after the other, in one Node process that is both producer and',
    'consumer, on a queue of its own; each closes its clients and deletes its queue (and any queue named after it)',
    "before the next starts. Every contender sends and reads the same Celery-format messages: kombu's SQS",
    'body, base64 of the JSON envelope whose `body` is base64 of the protocol-2 task JSON (docs/celery-wire.md §4),',
    `≈ 1.1 KB each; the anchors build it by hand and decode both layers in their handler. *Enqueue*: N messages in`,
    `SendMessageBatch requests of ${SQS_BATCH} entries, as many requests in flight as the concurrency (capped at N / ${SQS_BATCH}), no`,
    `consumer running (Conveyor \`client.sendMany\` of ${SQS_BATCH} tasks; sqs-consumer has no producer, so its rows run the`,
    "anchor's loop again). *Process*: the consumer is then started on the N queued messages and timed until the",
    'N-th is deleted. Conveyor: `Worker` with that concurrency (which is also its prefetch: receives ask for no',
    'more than the free slots, at most 10 each), `ignoreResult` task, no result backend. Raw loop: one loop per 10',
    `of concurrency (${pollersAt(1)} at 1, ${pollersAt(50)} at 50), each long-polling ReceiveMessage for up to ${SQS_BATCH} (WaitTimeSeconds 20), decoding`,
    'each message, then one DeleteMessageBatch: the ceiling. sqs-consumer: one `Consumer` per 10 of concurrency',
    '(it polls once at a time), `batchSize: 10`, `waitTimeSeconds: 20`, given its own SQSClient; `handleMessage`',
    "(its README's way: the batch's handlers run at once and each message is deleted by its own DeleteMessage)",
    'or `handleMessageBatch` (one DeleteMessageBatch per receive). Node CPU per message is this process over',
    'that window. *Pickup*: with the consumer idle in a long poll, one message at a time is sent (SendMessage,',
    'or Conveyor `client.send`) carrying `performance.timeOrigin + performance.now()` as its argument, and the',
    'handler reads the clock when it starts; the next goes 5 ms after the previous one finished. Ratios divide',
    'by the raw-loop or sqs-consumer (`handleMessageBatch`) figure at the same concurrency; for latency, lower is better.',
    '',
  );

  lines.push('### Process: draining N queued messages', '');
  lines.push(...processTable(rows, layout, [cpuColumn('Node CPU µs/msg', (row) => row.nodeCpuUsPerJob)]));

  const at = (id: SqsContender['id'], concurrency: number): number | undefined =>
    rows.find((r) => r.contender === id && r.concurrency === concurrency)?.process.median;
  const summary: string[] = [];
  for (const concurrency of SQS_CONCURRENCIES) {
    const ours = at('conveyor', concurrency);
    const raw = at('raw', concurrency);
    const consumer = at('sqs-consumer-batch', concurrency);
    if (ours === undefined || raw === undefined) continue;
    summary.push(
      `at concurrency ${concurrency} @conveyor/sqs drains ${ratio(ours, raw)} of the raw loop's rate${consumer === undefined ? '' : ` and ${ratio(ours, consumer)} of sqs-consumer's (handleMessageBatch)`}`,
    );
  }
  if (summary.length > 0)
    lines.push(
      '',
      `Against the issue's target (≥ 0.80× the raw loop, ahead of sqs-consumer): ${summary.join('; ')}.`,
    );

  lines.push('', `### Enqueue: SendMessageBatch of ${SQS_BATCH}`, '');
  const inFlight = batchesInFlightColumn<SqsRow>(options.tasks, layout.level);
  lines.push(
    ...enqueueTable(rows, layout, {
      ...inFlight,
      header: 'requests in flight',
      cell: (row) => String(Math.max(1, Math.min(row.concurrency, Math.ceil(options.tasks / SQS_BATCH)))),
    }),
  );

  lines.push('', ...pickupLatencySection(rows, layout));
  return lines.join('\n');
}
