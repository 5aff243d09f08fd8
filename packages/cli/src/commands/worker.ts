import { hostname } from 'node:os';
import {
  attachWorkerMetrics,
  type ResultBackend,
  redactUrl,
  type Transport,
  transportFromUrl,
  Worker,
  type WorkerOptions,
} from '@conveyor/core';
import { type CommandDef, choiceOption, integerOption, listOption, required } from '../args.js';
import {
  BROKER_OPTION_HELP,
  brokerUrl,
  closeQuietly,
  connect,
  openResultBackend,
  RESULTS_OPTION_HELP,
  resultsUrl,
} from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { loadTasks } from '../load-tasks.js';
import { type MetricsServer, parseMetricsAddress, serveMetrics } from '../metrics-server.js';
import { describe, type Io, preview } from '../output.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';
import { TRUST_OPTIONS, type WorkerSigningFlags, workerSigningFromFlags } from '../signing-flags.js';
import { waitForSignal } from '../wait-for-signal.js';

const def = {
  name: 'worker',
  summary: 'run a worker for the tasks a module exports',
  usage: [
    'conveyor worker --broker URL --tasks FILE [--results URL] [--concurrency N] [--queues a,b]',
    'conveyor worker --require MODULE --broker URL --tasks FILE [...]',
    'conveyor worker --broker URL --tasks FILE --isolation thread|process [...]',
    'conveyor worker --broker URL --tasks FILE --trust FILE [--trust FILE]... [--allow-unsigned] [--require-bound-headers] [...]',
    'conveyor worker --broker URL --tasks FILE --metrics [HOST]:PORT [...]',
  ],
  description:
    'Loads FILE (resolved from the current directory), runs every task it exports (made with\n' +
    'defineTask(); a default export may be an array of tasks) and logs one line per event.\n' +
    'SIGINT or SIGTERM stops it gracefully: it takes no new messages, lets running tasks finish\n' +
    '(up to --shutdown-deadline), gives the rest back to the broker and exits with code 0.\n' +
    'A second signal exits at once; unfinished messages are redelivered by the broker.\n' +
    "With --results, every task that does not ignore its result stores it there in Celery's\n" +
    'format, so Python clients (AsyncResult.get) and `conveyor send --wait` can read it.\n' +
    'With --isolation, each handler runs in a worker thread or a child process that imports FILE\n' +
    'itself: a handler that blocks or kills its runner fails only its own task (see docs/isolation.md).\n' +
    "With --trust, it runs only tasks signed (Celery's auth format, e.g. conveyor send --sign-key) by a\n" +
    'trusted certificate; unsigned, tampered or unknown-signer messages are dead-lettered with the\n' +
    'reason and never run (see docs/signing.md).\n' +
    'With --metrics, it serves Prometheus metrics (tasks received, succeeded, failed, retried,\n' +
    'dead-lettered; run time and latency histograms; in flight; queue depth) on\n' +
    'http://HOST:PORT/metrics (see docs/observability.md).\n' +
    "With --control, it answers Celery's remote control (celery inspect ping|active|registered|stats,\n" +
    'celery control revoke: a revoked task is not run, also when it arrives later); off by default,\n' +
    'unlike Celery, because anyone who can publish on the broker could revoke (docs/celery-wire.md §7.2).',
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    tasks: {
      type: 'string',
      short: 't',
      placeholder: 'FILE',
      description: 'JavaScript module exporting the tasks (required)',
    },
    results: { type: 'string', short: 'r', placeholder: 'URL', description: RESULTS_OPTION_HELP },
    concurrency: {
      type: 'string',
      short: 'c',
      placeholder: 'N',
      description: 'tasks running at once; also the broker prefetch (default 10)',
    },
    queues: {
      type: 'string',
      short: 'Q',
      multiple: true,
      placeholder: 'a,b',
      description: "queues to consume, comma-separated or repeated (default: the tasks' queues, or celery)",
    },
    'shutdown-deadline': {
      type: 'string',
      placeholder: 'MS',
      description: 'on a signal, let running tasks finish for up to MS ms (default 30000)',
    },
    'max-deliveries': {
      type: 'string',
      placeholder: 'N',
      description:
        'dead-letter a message delivered N times without being settled (a poison message that kills its worker); default 10',
    },
    isolation: {
      type: 'string',
      placeholder: 'MODE',
      description:
        'run handlers in a worker thread (thread) or a child process (process) each, so one that blocks or crashes fails only its task; default: in-process',
    },
    metrics: {
      type: 'string',
      placeholder: '[HOST]:PORT',
      description:
        'serve Prometheus metrics on http://HOST:PORT/metrics; HOST defaults to 127.0.0.1 (:9464), 0.0.0.0 for every interface',
    },
    events: {
      type: 'boolean',
      short: 'E',
      description:
        "send Celery's worker and task events (like celery worker -E) for Celery's event receiver and Flower; Redis and RabbitMQ",
    },
    hostname: {
      type: 'string',
      short: 'n',
      placeholder: 'NAME',
      description:
        'node name in Celery events and remote control, like celery worker -n; %h is this host (default conveyor@%h)',
    },
    control: {
      type: 'boolean',
      description:
        "answer Celery's remote control (celery inspect, celery control revoke) like a Python worker; Redis and RabbitMQ",
    },
    require: REQUIRE_OPTION,
    ...TRUST_OPTIONS,
  },
  examples: [
    'conveyor worker --broker redis://localhost:6379 --tasks ./dist/tasks.js',
    'conveyor worker -b amqp://guest:guest@localhost -t ./tasks.js -c 50 -Q default,emails',
    'conveyor worker -b amqp://localhost -r redis://localhost:6379/1 -t ./tasks.js',
    'conveyor worker --require @acme/conveyor-nats -b nats://localhost:4222 -t ./tasks.js',
    'conveyor worker -b redis://localhost:6379 -t ./dist/tasks.js --isolation process',
    'conveyor worker -b redis://localhost:6379 -t ./dist/tasks.js --trust producers.pem --trust new-producer.pem',
    'conveyor worker -b redis://localhost:6379 -t ./dist/tasks.js --metrics :9464',
    'conveyor worker -b redis://localhost:6379 -t ./dist/tasks.js -E',
    'conveyor worker -b redis://localhost:6379 -t ./dist/tasks.js --control',
  ],
} as const satisfies CommandDef;

/** `conveyor worker`. */
export const workerCommand: Command = defineCommand(def, async ({ values }, io) => {
  const imported = await importRequiredModules(values.require, io);
  const url = brokerUrl(def.name, values.broker, io);
  const tasksFile = required(def.name, 'tasks', values.tasks);
  const concurrency = integerOption(def.name, 'concurrency', values.concurrency, { min: 1 });
  const deadline = integerOption(def.name, 'shutdown-deadline', values['shutdown-deadline'], { min: 0 });
  const maxDeliveries = integerOption(def.name, 'max-deliveries', values['max-deliveries'], { min: 1 });
  const isolation = choiceOption(def.name, 'isolation', values.isolation, ['thread', 'process']);
  const queues = listOption(values.queues);
  const storeIn = resultsUrl(values.results, io);
  const signing = await workerSigningFromFlags(def.name, values, io);
  const metricsAt = values.metrics === undefined ? undefined : parseMetricsAddress(def.name, values.metrics);
  const nodeName = values.hostname === undefined ? undefined : parseNodeName(values.hostname);

  const log = logger(io);
  const { tasks, file } = await loadTasks(tasksFile, io.cwd);
  let transport: Transport | undefined;
  let results: ResultBackend | undefined;
  let metrics: MetricsServer | undefined;
  // Listen before connecting: a signal during startup stops the worker as soon as it is up.
  const signals = waitForSignal();
  try {
    transport = await transportFromUrl(url);
    if (storeIn !== undefined) results = await openResultBackend(storeIn);
    const options: WorkerOptions = { transport, tasks };
    if (results !== undefined) options.results = results;
    if (concurrency !== undefined) options.concurrency = concurrency;
    if (queues.length > 0) options.queues = queues;
    if (deadline !== undefined) options.shutdownDeadlineMs = deadline;
    if (maxDeliveries !== undefined) options.maxDeliveries = maxDeliveries;
    // The runners load the module the CLI loaded: same file, same tasks.
    if (isolation !== undefined) options.isolation = { mode: isolation, tasksModule: file };
    if (signing !== undefined) options.signing = signing.options;
    if (values.events === true) options.events = true;
    if (values.control === true) options.control = true;
    if (nodeName !== undefined) options.hostname = nodeName;
    const worker = new Worker(options);
    log.info(
      `starting worker ${worker.hostname}: ${tasks.length} task${tasks.length === 1 ? '' : 's'} from ${file} ` +
        `(${tasks.map((t) => t.name).join(', ')})`,
    );
    if (imported.length > 0) log.info(`imported (--require): ${imported.join(', ')}`);
    log.info(`connecting to ${redactUrl(url)} (${transport.name} transport)`);
    if (isolation !== undefined) {
      log.info(
        `isolation: each handler runs in a ${isolation === 'thread' ? 'worker thread' : 'child process'}`,
      );
    }
    log.info(
      storeIn === undefined
        ? 'results: not stored (no --results)'
        : `results: stored in ${redactUrl(storeIn)}`,
    );
    if (signing !== undefined) log.info(describeSigning(signing));
    logTaskEvents(worker, log);
    if (metricsAt !== undefined) {
      // Bound before connecting: a port in use fails at once, not after the broker handshake.
      metrics = await serveMetrics(attachWorkerMetrics(worker).registry, metricsAt);
      log.info(`metrics: serving ${metrics.url}`);
    }
    await connect(transport, url);
    await worker.start();
    log.info(
      `ready: consuming ${worker.queues.join(', ')} with concurrency ${worker.concurrency}; ` +
        'press Ctrl+C (SIGINT) or send SIGTERM to stop',
    );

    const signal = await signals.next;
    const forceExit = (again: NodeJS.Signals): void => {
      log.warn(`received ${again} again: exiting now; unfinished messages go back to the broker`);
      process.exit(again === 'SIGINT' ? 130 : 143);
    };
    // Before the line that invites the second signal: without a listener, it would kill the process.
    process.once('SIGINT', forceExit);
    process.once('SIGTERM', forceExit);
    const running = worker.running;
    log.info(
      `received ${signal}: stopping (${running} task${running === 1 ? '' : 's'} running` +
        `${running > 0 ? `, waiting up to ${deadline ?? 30_000} ms` : ''}; send it again to exit at once)`,
    );
    const report = await worker.stop();
    log.info(`worker stopped: ${report.finished} finished, ${report.returned} given back to the broker`);
    await transport.close();
    await results?.close?.();
    await metrics?.close();
    log.info('connection closed; bye');
    process.off('SIGINT', forceExit);
    process.off('SIGTERM', forceExit);
    return 0;
  } catch (error) {
    signals.dispose();
    await metrics?.close();
    await closeQuietly(transport);
    await closeQuietly(results);
    throw error;
  }
});

/** The worker's signing policy in one log line: whom it trusts (key ids, not secrets) and what it refuses. */
function describeSigning({ options, trustedSigners }: WorkerSigningFlags): string {
  const signers = trustedSigners.map((id) => `"${id}"`).join(', ');
  const unsigned =
    options.require === false
      ? 'unsigned tasks run too (--allow-unsigned)'
      : 'unsigned tasks are dead-lettered';
  const headers = options.requireBoundHeaders ? '; signed tasks must bind their headers' : '';
  return `signing: trusting ${trustedSigners.length} certificate${trustedSigners.length === 1 ? '' : 's'} (${signers}); ${unsigned}${headers}`;
}

interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

function logger(io: Io): Logger {
  const line = (level: string, message: string): string =>
    `[${new Date().toISOString()}] ${level.padEnd(5)} ${redactUrl(message)}`;
  return {
    info: (message) => io.out(line('INFO', message)),
    warn: (message) => io.out(line('WARN', message)),
    // One stream for the whole log, so that redirecting it keeps the lines in order.
    error: (message) => io.out(line('ERROR', message)),
  };
}

/** One log line per task outcome (received/started are left out: they double the volume). */
function logTaskEvents(worker: Worker, log: Logger): void {
  worker.on('succeeded', (e) =>
    log.info(`task ${e.name}[${e.taskId}] succeeded in ${e.runtimeMs.toFixed(1)} ms: ${preview(e.result)}`),
  );
  worker.on('retried', (e) =>
    log.warn(
      `task ${e.name}[${e.taskId}] failed (${describe(e.error)}); retry ${e.retries} in ${e.delayMs} ms`,
    ),
  );
  worker.on('failed', (e) =>
    log.error(`task ${e.name}[${e.taskId}] failed for good after ${e.retries} retries: ${describe(e.error)}`),
  );
  worker.on('rejected', (e) =>
    log.warn(
      `${e.taskId ? `task ${e.name}[${e.taskId}]` : 'message'} dead-lettered from ${e.queue}: ${e.reason}`,
    ),
  );
  worker.on('revoked', (e) => log.warn(`task ${e.name}[${e.taskId}] revoked: ${e.reason}`));
  worker.on('error', (e) =>
    log.error(`worker error${e.taskId ? ` (task ${e.taskId})` : ''}: ${describe(e.error)}`),
  );
}

/** Celery's `-n`: `%h` is this machine's host name; several workers on one host need distinct names. */
function parseNodeName(value: string): string {
  const name = value.replaceAll('%h', hostname());
  if (name.trim() === '' || /\s/.test(name)) {
    throw new UsageError(
      `--hostname must be a name without spaces, e.g. worker1@%h; got ${JSON.stringify(value)}`,
    );
  }
  return name;
}
