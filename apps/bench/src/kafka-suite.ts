import type { Admin } from 'kafkajs';
import {
  batchesInFlightColumn,
  caseTableLayout,
  cpuColumn,
  enqueueTable,
  pickupLatencySection,
  processTable,
} from './case-tables.js';
import { ENQUEUE_BATCH, versionOf } from './contenders.js';
import { KAFKA_PARTITIONS, type KafkaContender, type KafkaTarget } from './kafka-contenders.js';
import { conveyorKafkaContender, conveyorKafkaDefaults } from './kafka-conveyor-contender.js';
import { DrainClock, timeKafkaThroughputRun } from './kafka-throughput-run.js';
import { kafkajsClient, kafkajsContender } from './kafkajs-contender.js';
import { formatMs, ratio } from './markdown-tables.js';
import { type BrokerSuiteOptions, type CaseRow, caseSummary, measureCases } from './measure-cases.js';
import { timePickupRun } from './pickup-run.js';
import { platformaticContender } from './platformatic-kafka-contender.js';
import { type Figure, figure, formatCount, machineLine } from './stats.js';

/** Options of the Kafka suite. */
export interface KafkaSuiteOptions extends BrokerSuiteOptions<KafkaContender['id']> {
  /** `host:port` bootstrap brokers, e.g. `['127.0.0.1:9092']`. */
  brokers: string[];
  /**
   * Records per throughput run at concurrency 1 (default `tasks`): a contender that commits before
   * its next hand-out drains a few hundred records/s there, where the anchors drain tens of
   * thousands, and the same N would take minutes per run.
   */
  tasksAtOne?: number;
}

/** One contender at one concurrency; its jobs are records. */
export interface KafkaRow extends CaseRow<KafkaContender['id']> {
  concurrency: number;
  /** ms from starting the consumer to the first message in a handler (group join, first fetch). */
  startupMs: Figure;
}

/** Results of the Kafka suite. */
export interface KafkaSuiteResult {
  rows: KafkaRow[];
  /** The transport's defaults that set its pace, e.g. `delivery counts stored after-handout, commit interval 20 ms, …`. */
  conveyorDefaults?: string;
}

/** The concurrencies of the Redis and SQS suites: one message at a time, and many. */
export const KAFKA_CONCURRENCIES = [1, 50] as const;

export const DEFAULT_KAFKA_BROKERS = ['127.0.0.1:9092'];

/** Every contender, in table order: Conveyor first, then its anchors. */
export const KAFKA_CONTENDERS: readonly KafkaContender[] = [
  conveyorKafkaContender,
  kafkajsContender,
  platformaticContender,
];

/** Opens the suite's own admin client; fails with a clear message when the broker is not there. */
export async function openKafkaAdmin(brokers: string[]): Promise<Admin> {
  const admin = kafkajsClient(brokers, 'bench-admin').admin();
  try {
    await Promise.race([
      admin.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref()),
    ]);
    return admin;
  } catch (error) {
    await admin.disconnect().catch(() => {});
    throw new Error(
      `Kafka is not reachable at ${brokers.join(',')} (${error instanceof Error ? error.message : String(error)}); start it with \`bash tooling/brokers/brokers.sh up kafka\``,
    );
  }
}

let sequence = 0;

/** The prefix every topic (and consumer group) of this process's bench runs starts with. */
export function kafkaBenchPrefix(pid = process.pid): string {
  return `conveyor-bench-${pid}-`;
}

function caseTopic(contender: KafkaContender, concurrency: number, kind: 'throughput' | 'pickup'): string {
  sequence += 1;
  return `${kafkaBenchPrefix()}${sequence}-${contender.id}-c${concurrency}-${kind}`;
}

/**
 * Deletes the topics and consumer groups whose names start with `prefix`: a case's topic, the
 * `<topic>.dlq` Conveyor declares beside it, and every group consuming them (the anchors'
 * `<topic>-group`, Conveyor's `<topic>-consumer-group`).
 */
export async function deleteKafkaStartingWith(admin: Admin, prefix: string): Promise<void> {
  const { groups } = await admin.listGroups();
  const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
  if (ours.length > 0) await admin.deleteGroups(ours).catch(() => {});
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
}

/** Runs `measure` on a new topic of `partitions` partitions, and deletes it (and its groups, its siblings) after. */
async function onTopicOfItsOwn<T>(
  admin: Admin,
  target: KafkaTarget,
  measure: (target: KafkaTarget) => Promise<T>,
): Promise<T> {
  try {
    await admin.createTopics({
      topics: [{ topic: target.topic, numPartitions: target.partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    return await measure(target);
  } finally {
    await deleteKafkaStartingWith(admin, target.topic);
  }
}

/** Measures every contender on one Kafka cluster, every run on a topic of its own that is deleted after it. */
export async function runKafkaSuite(options: KafkaSuiteOptions): Promise<KafkaSuiteResult> {
  const log = options.log ?? (() => {});
  const admin = await openKafkaAdmin(options.brokers);
  const contenders = KAFKA_CONTENDERS.filter((c) => !options.contenders || options.contenders.includes(c.id));
  const rows: KafkaRow[] = [];
  try {
    const { brokers } = options;
    const tasksAt = (concurrency: number): number =>
      concurrency === 1 ? (options.tasksAtOne ?? options.tasks) : options.tasks;
    const target = (topic: string): KafkaTarget => ({ brokers, topic, partitions: KAFKA_PARTITIONS });
    const cases = measureCases({
      levels: KAFKA_CONCURRENCIES,
      contenders,
      runs: options.runs,
      throughput: (contender, concurrency) =>
        onTopicOfItsOwn(admin, target(caseTopic(contender, concurrency, 'throughput')), (t) => {
          const clock = new DrainClock();
          const tasks = tasksAt(concurrency);
          return timeKafkaThroughputRun(contender.throughput(t, tasks, concurrency, clock), tasks, clock);
        }),
      pickup: (contender, concurrency) =>
        onTopicOfItsOwn(admin, target(caseTopic(contender, concurrency, 'pickup')), (t) =>
          timePickupRun(
            (hooks) => contender.pickup(t, concurrency, hooks),
            options.samples,
            `${contender.name}: pickup message`,
          ),
        ),
    });
    for await (const { contender, level: concurrency, figures, throughput } of cases) {
      const startupMs = figure(throughput.map((t) => t.startupMs));
      rows.push({ contender: contender.id, name: contender.name, concurrency, startupMs, ...figures });
      log(
        `  ${contender.name} @ ${concurrency}: ${caseSummary(figures)}, start ${formatMs(startupMs.median)} ms`,
      );
    }
    return { rows, conveyorDefaults: conveyorKafkaDefaults() };
  } finally {
    await admin.disconnect();
  }
}

/** Versions of the libraries measured, for the Markdown. */
function kafkaLibraryVersions(): string {
  return `kafkajs ${versionOf('kafkajs')} (the kafkajs anchor; @conveyor/kafka is built on the same release), @platformatic/kafka ${versionOf('@platformatic/kafka')}`;
}

/** A ratio for the target line: two decimals, or two significant digits below 0.1 (where 0.00× would hide it). */
function targetRatio(value: number, reference: number): string {
  const r = value / reference;
  return r >= 0.1 ? ratio(value, reference) : `${r.toPrecision(2)}×`;
}

/** The Markdown section for docs/benchmarks.md. */
export function kafkaSuiteMarkdown(
  result: KafkaSuiteResult,
  options: Pick<KafkaSuiteOptions, 'tasks' | 'tasksAtOne' | 'runs' | 'samples' | 'brokers'>,
  command: string,
): string {
  const { rows } = result;
  const layout = caseTableLayout(rows, {
    level: { header: 'concurrency', of: (row) => row.concurrency },
    rateHeader: 'msgs/s (median)',
    anchors: [
      ['raw kafkajs', 'kafkajs'],
      ['raw @platformatic/kafka', 'platformatic'],
    ],
  });
  const lines: string[] = [];
  lines.push(
    `Command: \`${command}\` (N = ${formatCount(options.tasks)} no-op messages per throughput run${options.tasksAtOne !== undefined && options.tasksAtOne !== options.tasks ? `, ${formatCount(options.tasksAtOne)} at concurrency 1` : ''}, ${options.samples} sequential messages per pickup run, median of ${options.runs} runs after one warm-up).`,
    `Machine: ${machineLine()}; Kafka at ${options.brokers.join(',')} (same machine, a single KRaft node; tooling/brokers starts Apache Kafka 4.1.2), one new topic of ${KAFKA_PARTITIONS} partitions (replication 1) and one new consumer group per run, both deleted after it. Libraries: ${kafkaLibraryVersions()}.`,
    '',
    'How measured: every case runs alone, one after the other, in one Node process that is both producer and',
    'consumer, on a topic of its own; each closes its clients and deletes its topic (and `<topic>.dlq`) and consumer',
    'group before the next starts. Every contender sends and reads the same Celery-format records: the record value',
    "is kombu's JSON envelope whose `body` is base64 of the protocol-2 task JSON (docs/celery-wire.md §5), no key,",
    '≈ 0.8 KB; the anchors build it by hand and decode both layers in their handler. Every producer is durable in the',
    `same way: idempotent, acks = -1, no compression. *Enqueue*: N records in sends of ${ENQUEUE_BATCH}, as many sends in flight as the`,
    `concurrency (capped at N / ${ENQUEUE_BATCH}), no consumer running (Conveyor \`client.sendMany\` of ${ENQUEUE_BATCH} tasks, one \`producer.send\`).`,
    '*Process*: the consumer is then started on the N queued records, in a new group reading from the earliest',
    'offset, and timed from the first record reaching a handler to the N-th done: the group join and first fetch',
    'before it are the *start ms* column, not in the rate. Conveyor: `Worker` with that concurrency (which is also',
    `its prefetch) on a \`KafkaTransport\` with its defaults (${result.conveyorDefaults ?? 'see @conveyor/kafka'}), \`ignoreResult\``,
    'task, no result backend; a message is done when the worker reports it succeeded (its ack returned). Raw',
    'kafkajs: `consumer.run` with `eachBatch` (no auto-commit, no auto-resolve), partitions consumed concurrently up to',
    'the concurrency (at most 3), the handler on every record of the batch with at most the concurrency in flight, then',
    "`resolveOffset` and `commitOffsetsIfNecessary` with the batch's next offset, awaited: one commit per batch, the",
    "at-least-once ceiling of the client; a record is done when its batch's commit returns. Raw @platformatic/kafka:",
    '`consumer.consume` (no autocommit, committed offset else earliest), the stream read a batch at a time (every record',
    'it holds), the handler on each (at most the concurrency in flight), then `message.commit()` on the last record of',
    'each partition, awaited. Node CPU per message is this process over the timed window. *Pickup*: with the consumer',
    'idle (its fetch waiting at the broker), one record at a time is sent carrying `performance.timeOrigin +',
    'performance.now()` as its argument, and the handler reads the clock when it starts; the next goes 5 ms after the',
    'previous one finished. Ratios divide by the raw kafkajs or raw @platformatic/kafka figure at the same concurrency;',
    'for latency, lower is better.',
    '',
  );

  lines.push('### Process: draining N queued records', '');
  lines.push(
    ...processTable(rows, layout, [
      cpuColumn('Node CPU µs/msg', (row) => row.nodeCpuUsPerJob),
      { header: 'start ms', align: 'right', cell: (row) => String(Math.round(row.startupMs.median)) },
    ]),
  );

  const at = (id: KafkaContender['id'], concurrency: number): number | undefined =>
    rows.find((r) => r.contender === id && r.concurrency === concurrency)?.process.median;
  const summary: string[] = [];
  for (const concurrency of KAFKA_CONCURRENCIES) {
    const ours = at('conveyor', concurrency);
    const raw = at('kafkajs', concurrency);
    const platformatic = at('platformatic', concurrency);
    if (ours === undefined || raw === undefined) continue;
    summary.push(
      `at concurrency ${concurrency} @conveyor/kafka drains ${targetRatio(ours, raw)} of raw kafkajs's rate${platformatic === undefined ? '' : ` and ${targetRatio(ours, platformatic)} of raw @platformatic/kafka's`}`,
    );
  }
  if (summary.length > 0)
    lines.push('', `Against the issue's target (≥ 0.80× raw kafkajs): ${summary.join('; ')}.`);

  lines.push('', `### Enqueue: sends of ${ENQUEUE_BATCH} records, acks -1, idempotent`, '');
  lines.push(...enqueueTable(rows, layout, batchesInFlightColumn<KafkaRow>(options.tasks, layout.level)));

  lines.push('', ...pickupLatencySection(rows, layout));
  return lines.join('\n');
}
