/**
 * The Conveyor demo: a producer sends a few thousand small, real tasks; a worker runs them with
 * retries and dead-lettering; the summary shows what happened.
 *
 *   pnpm --filter @conveyor/demo start --tasks 5000 --broker memory://
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  Client,
  ConveyorError,
  MemoryResultBackend,
  redactUrl,
  TaskFailedError,
  type Transport,
  Worker,
} from '@conveyor/core';
import { openTransport } from './broker.js';
import { expectedOutcomes, planWorkload, type SentTask, sendPlan, taskNameOf } from './producer.js';
import {
  type DemoSummary,
  type ExampleResult,
  formatSummary,
  preview,
  progressPrinter,
  Tally,
  truncate,
} from './report.js';
import { demoTasks } from './tasks.js';

/** Options of runDemo. */
export interface DemoOptions {
  /** Number of tasks to send. Default 5000. */
  tasks?: number;
  /** Broker URL. Default `memory://`. */
  broker?: string;
  /** Worker concurrency. Default 50. */
  concurrency?: number;
  /** Queue the tasks go through. Default `demo`. */
  queue?: string;
  /** Give up waiting for final states after this long. Default 120 s. */
  timeoutMs?: number;
  /** Where progress and the summary go. Default console.log. */
  log?: (line: string) => void;
}

/** Runs the demo end to end and returns the summary (also printed through `log`). */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const total = options.tasks ?? 5000;
  const broker = options.broker ?? 'memory://';
  const concurrency = options.concurrency ?? 50;
  const queue = options.queue ?? 'demo';
  const timeoutMs = options.timeoutMs ?? 120_000;
  const log = options.log ?? ((line: string) => console.log(line));
  if (!Number.isInteger(total) || total < 1)
    throw new ConveyorError('INVALID_OPTION', '--tasks must be an integer >= 1');

  const transport: Transport = await openTransport(broker);
  const results = new MemoryResultBackend();
  const worker = new Worker({ transport, tasks: demoTasks, queues: [queue], concurrency, results });
  const client = new Client({ transport, results, defaultQueue: queue });
  const dlq = `${queue}.dlq`;
  const plan = planWorkload(total);

  let startedAt = performance.now();
  const tally: Tally = new Tally(worker, total, (finished) => printProgress(finished));
  const printProgress = progressPrinter(
    total,
    () => startedAt,
    () => tally.liveCounts(),
    log,
  );

  try {
    log(
      `Conveyor demo: ${total} tasks on ${redactUrl(broker)} (${transport.name} transport), concurrency ${concurrency}`,
    );
    await worker.start();
    const dlqBefore = (await transport.queueDepth(dlq)).ready;
    log(`  worker started on queue "${queue}"; sending...`);

    startedAt = performance.now();
    const sent = await sendPlan(client, plan, (s) => tally.expect(s.handle.id));
    tally.sendingDone();
    const sentMs = performance.now() - startedAt;
    log(`  all ${sent.length} tasks sent in ${(sentMs / 1000).toFixed(2)}s; waiting for the worker...`);

    const complete = await tally.waitForAll(timeoutMs);
    const elapsedMs = performance.now() - startedAt;
    const dlqDepth = (await transport.queueDepth(dlq)).ready;
    const counts = tally.counts();
    const expected = expectedOutcomes(plan);
    const sentByTask: Record<string, number> = {};
    for (const s of sent) sentByTask[taskNameOf(s.planned)] = (sentByTask[taskNameOf(s.planned)] ?? 0) + 1;

    const summary: DemoSummary = {
      broker: redactUrl(broker),
      queue,
      concurrency,
      sent: sent.length,
      sentByTask,
      expected: {
        success: expected.success,
        retryThenSuccess: expected['retry-then-success'],
        deadLetter: expected['dead-letter'],
      },
      succeeded: counts.succeeded,
      retries: counts.retries,
      tasksRetried: counts.tasksRetried,
      deadLettered: counts.deadLettered,
      revoked: counts.revoked,
      deadLetterQueue: { name: dlq, depth: dlqDepth, added: dlqDepth - dlqBefore },
      foreignRejections: tally.foreignRejections,
      workerErrors: tally.errors.length,
      elapsedMs,
      tasksPerSecond: sent.length / (elapsedMs / 1000),
      complete,
      unfinished: tally.unfinished,
      examples: complete ? await readExamples(sent, tally) : [],
    };
    log(formatSummary(summary));
    return summary;
  } finally {
    tally.dispose();
    await worker.stop({ deadlineMs: 5000 });
    await transport.close();
  }
}

/** Reads a few results back through their handles: one of each kind, retried and failed ones too. */
async function readExamples(sent: readonly SentTask[], tally: Tally): Promise<ExampleResult[]> {
  const picks: SentTask[] = [];
  const pick = (predicate: (s: SentTask) => boolean): void => {
    const found = sent.find((s) => predicate(s) && !picks.includes(s));
    if (found) picks.push(found);
  };
  pick((s) => s.planned.kind === 'checksum');
  pick((s) => s.planned.kind === 'wordStats');
  pick(
    (s) =>
      s.planned.kind === 'flakyFetch' &&
      tally.retriesOf(s.handle.id) > 0 &&
      tally.outcome(s.handle.id) === 'succeeded',
  );
  pick((s) => s.planned.kind === 'flakyFetch' && tally.outcome(s.handle.id) === 'dead-lettered');
  pick((s) => s.planned.kind === 'invalid');

  const examples: ExampleResult[] = [];
  for (const s of picks) {
    let outcome: string;
    try {
      outcome = preview(await s.handle.get({ timeout: 5000 }), 160);
    } catch (error) {
      outcome =
        error instanceof TaskFailedError
          ? `failed: ${error.exception.exc_type}: ${truncate(error.exception.exc_message.map(String).join(', '), 140)}`
          : `error: ${error instanceof Error ? error.message : String(error)}`;
    }
    examples.push({
      task: taskNameOf(s.planned),
      args: s.planned.args,
      outcome,
      retries: tally.retriesOf(s.handle.id),
    });
  }
  return examples;
}

const HELP = `Usage: node dist/main.js [options]   (or: pnpm --filter @conveyor/demo start [options])

Sends a few thousand small tasks (SHA-256 checksums, word statistics, a flaky "fetch"),
runs them on a Conveyor worker, and prints progress and a summary.

Options:
  --tasks N          number of tasks to send (default 5000)
  --broker URL       broker URL (default memory://, in this process)
  --concurrency N    worker concurrency (default 50)
  --queue NAME       queue to use (default demo; its dead-letter queue is NAME.dlq)
  --timeout MS       give up waiting for the tasks after MS milliseconds (default 120000)
  -h, --help         show this help
`;

function positiveInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConveyorError('INVALID_OPTION', `--${option} must be an integer >= 1, got "${value}"`);
  }
  return n;
}

/** Command-line entry point: returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      // `pnpm start -- --tasks 10` passes the `--` through; it separates nothing here.
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        tasks: { type: 'string' },
        broker: { type: 'string' },
        concurrency: { type: 'string' },
        queue: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const summary = await runDemo({
      tasks: positiveInteger('tasks', values.tasks, 5000),
      broker: values.broker ?? 'memory://',
      concurrency: positiveInteger('concurrency', values.concurrency, 50),
      queue: values.queue ?? 'demo',
      timeoutMs: positiveInteger('timeout', values.timeout, 120_000),
    });
    return summary.complete ? 0 : 1;
  } catch (error) {
    const parseError = (error as { code?: unknown }).code;
    if (
      error instanceof ConveyorError ||
      (typeof parseError === 'string' && parseError.startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`demo: ${redactUrl((error as Error).message)}\n`);
      return 2;
    }
    process.stderr.write(
      `demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
