import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { amqpSuiteMarkdown, DEFAULT_AMQP_URL, openAmqpAdmin, runAmqpSuite } from './amqp-suite.js';
import { writeBenchmarkSection } from './benchmarks-doc.js';
import { isolationSuiteMarkdown, runIsolationSuite } from './isolation-suite.js';
import { DEFAULT_KAFKA_BROKERS, kafkaSuiteMarkdown, openKafkaAdmin, runKafkaSuite } from './kafka-suite.js';
import { memorySuiteMarkdown, runMemorySuite } from './memory-suite.js';
import { metricsSuiteMarkdown, runMetricsSuite } from './metrics-suite.js';
import { openAdmin, redisSuiteMarkdown, runRedisSuite } from './redis-suite.js';
import { runSigningSuite, signingSuiteMarkdown } from './signing-suite.js';
import {
  DEFAULT_SQS_ENDPOINT,
  DEFAULT_SQS_REGION,
  openSqsAdmin,
  runSqsSuite,
  sqsSuiteMarkdown,
} from './sqs-suite.js';
import { runTelemetrySuite, telemetrySuiteMarkdown } from './telemetry-suite.js';

const SUITES = [
  'memory',
  'redis',
  'amqp',
  'sqs',
  'kafka',
  'isolation',
  'signing',
  'telemetry',
  'metrics',
] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `Usage: pnpm bench [--suite memory,redis,amqp,sqs,kafka,isolation,signing,telemetry,metrics] [--tasks N] [--redis-tasks N] [--amqp-tasks N] [--sqs-tasks N] [--kafka-tasks N] [--runs R] [--out FILE] [--no-write]

Measures Conveyor side by side with its anchors and writes the tables to docs/benchmarks.md.
  --suite LIST         suites to run, comma-separated: memory, redis, amqp, sqs, kafka, isolation, signing, telemetry, metrics (default all)
  --tasks N            memory:// tasks per run (default 200000)
  --redis-tasks N      Redis jobs per throughput run (default 20000)
  --redis-samples N    Redis pickup-latency jobs per run (default 200)
  --redis-db N         Redis database the suite owns and flushes (default 14), on 127.0.0.1:6379
  --amqp-tasks N       AMQP messages per throughput run (default 20000)
  --amqp-samples N     AMQP pickup-latency messages per run (default 200)
  --amqp-url URL       RabbitMQ the AMQP suite uses, vhost / (default amqp://guest:guest@127.0.0.1:5672)
  --sqs-tasks N        SQS messages per throughput run (default 5000)
  --sqs-samples N      SQS pickup-latency messages per run (default 100)
  --sqs-endpoint URL   SQS endpoint the SQS suite uses (default http://127.0.0.1:9324, ElasticMQ)
  --kafka-tasks N      Kafka records per throughput run (default 20000)
  --kafka-tasks-at-1 N Kafka records per throughput run at concurrency 1 (default: --kafka-tasks)
  --kafka-samples N    Kafka pickup-latency records per run (default 100)
  --kafka-brokers LIST Kafka bootstrap brokers, comma-separated (default 127.0.0.1:9092)
  --isolation-tasks N  tasks per run of the isolation suite, in-process vs thread vs process (default 5000)
  --signing-tasks N    tasks per run of the signing suite, unsigned vs signed on memory:// (default 5000)
  --telemetry-tasks N  memory:// tasks per run of the telemetry suite, tracing off vs on (default 20000)
  --telemetry-redis-tasks N  Redis tasks per run of the telemetry suite, 0 for none (default 5000), db --redis-db
  --metrics-tasks N    memory:// tasks per run of the metrics suite, Prometheus metrics off vs on (default 20000)
  --runs R             measured runs per case; the median is reported (default 3)
  --out FILE           Markdown file to update (default docs/benchmarks.md at the repo root)
  --no-write           print the tables only
`;

function positiveInteger(option: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${option} must be an integer >= ${min}, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    // pnpm forwards a literal `--` when called as `pnpm bench -- --tasks N`.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      suite: { type: 'string', default: 'all' },
      tasks: { type: 'string', default: '200000' },
      'redis-tasks': { type: 'string', default: '20000' },
      'redis-samples': { type: 'string', default: '200' },
      'redis-db': { type: 'string', default: '14' },
      'amqp-tasks': { type: 'string', default: '20000' },
      'amqp-samples': { type: 'string', default: '200' },
      'amqp-url': { type: 'string', default: DEFAULT_AMQP_URL },
      'sqs-tasks': { type: 'string', default: '5000' },
      'sqs-samples': { type: 'string', default: '100' },
      'sqs-endpoint': { type: 'string', default: DEFAULT_SQS_ENDPOINT },
      'kafka-tasks': { type: 'string', default: '20000' },
      'kafka-tasks-at-1': { type: 'string' },
      'kafka-samples': { type: 'string', default: '100' },
      'kafka-brokers': { type: 'string', default: DEFAULT_KAFKA_BROKERS.join(',') },
      'isolation-tasks': { type: 'string', default: '5000' },
      'signing-tasks': { type: 'string', default: '5000' },
      'telemetry-tasks': { type: 'string', default: '20000' },
      'telemetry-redis-tasks': { type: 'string', default: '5000' },
      'metrics-tasks': { type: 'string', default: '20000' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const suites = new Set<Suite>();
  for (const name of values.suite.split(',').map((s) => s.trim())) {
    if (name === 'all') for (const s of SUITES) suites.add(s);
    else if ((SUITES as readonly string[]).includes(name)) suites.add(name as Suite);
    else throw new Error(`--suite: unknown suite "${name}" (expected ${SUITES.join(', ')} or all)`);
  }
  const tasks = positiveInteger('tasks', values.tasks);
  const runs = positiveInteger('runs', values.runs);
  const redisTasks = positiveInteger('redis-tasks', values['redis-tasks']);
  const redisSamples = positiveInteger('redis-samples', values['redis-samples']);
  const redisDb = positiveInteger('redis-db', values['redis-db'], 0);
  const amqpTasks = positiveInteger('amqp-tasks', values['amqp-tasks']);
  const amqpSamples = positiveInteger('amqp-samples', values['amqp-samples']);
  const amqpUrl = values['amqp-url'];
  const sqsTasks = positiveInteger('sqs-tasks', values['sqs-tasks']);
  const sqsSamples = positiveInteger('sqs-samples', values['sqs-samples']);
  const sqsEndpoint = values['sqs-endpoint'];
  const kafkaTasks = positiveInteger('kafka-tasks', values['kafka-tasks']);
  const kafkaTasksAtOne =
    values['kafka-tasks-at-1'] === undefined
      ? undefined
      : positiveInteger('kafka-tasks-at-1', values['kafka-tasks-at-1']);
  const kafkaSamples = positiveInteger('kafka-samples', values['kafka-samples']);
  const kafkaBrokers = values['kafka-brokers']
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const isolationTasks = positiveInteger('isolation-tasks', values['isolation-tasks']);
  const signingTasks = positiveInteger('signing-tasks', values['signing-tasks']);
  const telemetryTasks = positiveInteger('telemetry-tasks', values['telemetry-tasks']);
  const telemetryRedisTasks = positiveInteger('telemetry-redis-tasks', values['telemetry-redis-tasks'], 0);
  const metricsTasks = positiveInteger('metrics-tasks', values['metrics-tasks']);
  const target = { host: '127.0.0.1', port: 6379, db: redisDb };
  const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
  const out = values.out ?? resolve(repoRoot, 'docs/benchmarks.md');
  const write = async (id: string, title: string, markdown: string): Promise<void> => {
    process.stdout.write(`${markdown}\n`);
    if (values['no-write']) return;
    await writeBenchmarkSection(out, id, title, markdown);
    process.stdout.write(`\nwrote ${out}\n`);
  };

  // Fail before the long memory suite when a broker is missing.
  if (suites.has('redis')) (await openAdmin(target)).disconnect();
  if (suites.has('amqp')) await (await openAmqpAdmin(amqpUrl)).close();
  if (suites.has('sqs')) (await openSqsAdmin(sqsEndpoint, DEFAULT_SQS_REGION)).destroy();
  if (suites.has('kafka')) await (await openKafkaAdmin(kafkaBrokers)).disconnect();

  if (suites.has('memory')) {
    const command = `pnpm bench --tasks ${tasks} --runs ${runs}`;
    process.stdout.write(`memory:// suite: ${tasks} tasks x ${runs} runs per case...\n`);
    const result = await runMemorySuite({ tasks, runs });
    await write(
      'memory',
      'memory:// (in-process, MemoryTransport)',
      memorySuiteMarkdown(result, { tasks, runs }, command),
    );
  }
  if (suites.has('redis')) {
    const extra = [
      redisSamples !== 200 ? ` --redis-samples ${redisSamples}` : '',
      redisDb !== 14 ? ` --redis-db ${redisDb}` : '',
    ].join('');
    const command = `pnpm bench --redis-tasks ${redisTasks}${extra} --runs ${runs}`;
    process.stdout.write(
      `redis suite: ${redisTasks} jobs x ${runs} runs per case, ${redisSamples} pickup samples, db ${redisDb}...\n`,
    );
    const options = { tasks: redisTasks, runs, samples: redisSamples, target };
    const result = await runRedisSuite({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
    await write(
      'redis',
      'Redis (@conveyor/redis beside a raw ioredis loop, BullMQ and bee-queue)',
      redisSuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('amqp')) {
    const extra = [
      amqpSamples !== 200 ? ` --amqp-samples ${amqpSamples}` : '',
      amqpUrl !== DEFAULT_AMQP_URL ? ' --amqp-url URL' : '',
    ].join('');
    const command = `pnpm bench --suite amqp --amqp-tasks ${amqpTasks}${extra} --runs ${runs}`;
    process.stdout.write(
      `amqp suite: ${amqpTasks} messages x ${runs} runs per case, ${amqpSamples} pickup samples...\n`,
    );
    const options = { tasks: amqpTasks, runs, samples: amqpSamples, url: amqpUrl };
    const result = await runAmqpSuite({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
    await write(
      'amqp',
      'AMQP (@conveyor/amqp beside raw amqplib and celery-node, RabbitMQ)',
      amqpSuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('sqs')) {
    const extra = [
      sqsSamples !== 100 ? ` --sqs-samples ${sqsSamples}` : '',
      sqsEndpoint !== DEFAULT_SQS_ENDPOINT ? ` --sqs-endpoint ${sqsEndpoint}` : '',
    ].join('');
    const command = `node apps/bench/dist/main.js --suite sqs --sqs-tasks ${sqsTasks}${extra} --runs ${runs}`;
    process.stdout.write(
      `sqs suite: ${sqsTasks} messages x ${runs} runs per case, ${sqsSamples} pickup samples...\n`,
    );
    const options = {
      tasks: sqsTasks,
      runs,
      samples: sqsSamples,
      endpoint: sqsEndpoint,
      region: DEFAULT_SQS_REGION,
    };
    const result = await runSqsSuite({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
    await write(
      'sqs',
      'SQS (@conveyor/sqs beside a raw @aws-sdk/client-sqs loop and sqs-consumer, ElasticMQ)',
      sqsSuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('kafka')) {
    const extra = [
      kafkaTasksAtOne !== undefined ? ` --kafka-tasks-at-1 ${kafkaTasksAtOne}` : '',
      kafkaSamples !== 100 ? ` --kafka-samples ${kafkaSamples}` : '',
      kafkaBrokers.join(',') !== DEFAULT_KAFKA_BROKERS.join(',')
        ? ` --kafka-brokers ${kafkaBrokers.join(',')}`
        : '',
    ].join('');
    const command = `node apps/bench/dist/main.js --suite kafka --kafka-tasks ${kafkaTasks}${extra} --runs ${runs}`;
    process.stdout.write(
      `kafka suite: ${kafkaTasks} records x ${runs} runs per case, ${kafkaSamples} pickup samples...\n`,
    );
    const options = {
      tasks: kafkaTasks,
      ...(kafkaTasksAtOne === undefined ? {} : { tasksAtOne: kafkaTasksAtOne }),
      runs,
      samples: kafkaSamples,
      brokers: kafkaBrokers,
    };
    const result = await runKafkaSuite({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
    await write(
      'kafka',
      'Kafka (@conveyor/kafka beside raw kafkajs and raw @platformatic/kafka)',
      kafkaSuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('isolation')) {
    const command = `pnpm bench --suite isolation --isolation-tasks ${isolationTasks} --runs ${runs}`;
    process.stdout.write(`isolation suite: ${isolationTasks} tasks x ${runs} runs per case...\n`);
    const options = { tasks: isolationTasks, runs };
    const result = await runIsolationSuite(options);
    await write(
      'isolation',
      'Isolated handlers (in-process vs worker threads vs child processes, memory://)',
      isolationSuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('signing')) {
    const command = `pnpm bench --suite signing --signing-tasks ${signingTasks} --runs ${runs}`;
    process.stdout.write(`signing suite: ${signingTasks} tasks x ${runs} runs per case...\n`);
    const options = { tasks: signingTasks, runs };
    const result = await runSigningSuite(options);
    await write(
      'signing',
      'Message signing (unsigned vs signed on memory://, RSA-PSS sign and verify per key size)',
      signingSuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('telemetry')) {
    const command = `pnpm bench --suite telemetry --telemetry-tasks ${telemetryTasks} --telemetry-redis-tasks ${telemetryRedisTasks} --runs ${runs}`;
    process.stdout.write(
      `telemetry suite: ${telemetryTasks} tasks on memory://, ${telemetryRedisTasks} on Redis, x ${runs} runs per case...\n`,
    );
    const options = { tasks: telemetryTasks, redisTasks: telemetryRedisTasks, runs, redis: target };
    const result = await runTelemetrySuite(options);
    await write(
      'telemetry',
      'OpenTelemetry tracing (off, no-op tracer, SDK with an in-memory exporter; memory:// and Redis)',
      telemetrySuiteMarkdown(result, options, command),
    );
  }
  if (suites.has('metrics')) {
    const command = `pnpm bench --suite metrics --metrics-tasks ${metricsTasks} --runs ${runs}`;
    process.stdout.write(`metrics suite: ${metricsTasks} tasks on memory:// x ${runs} runs per case...\n`);
    const options = { tasks: metricsTasks, runs };
    const result = await runMetricsSuite(options);
    await write(
      'metrics',
      'Prometheus metrics (off, on, on and scraped; memory://)',
      metricsSuiteMarkdown(result, options, command),
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
