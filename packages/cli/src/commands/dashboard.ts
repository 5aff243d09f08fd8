import { type ResultBackend, redactUrl, type Transport } from '@conveyor/core';
import { type CommandDef, integerOption, usageHint } from '../args.js';
import {
  BROKER_OPTION_HELP,
  brokerUrl,
  closeQuietly,
  connectTransport,
  openResultBackend,
  RESULTS_OPTION_HELP,
  resultsUrl,
} from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { ALLOW_WRITES_OPTION, startDashboardServer } from '../dashboard/dashboard-server.js';
import { DashboardState } from '../dashboard/dashboard-state.js';
import { UsageError } from '../errors.js';
import { parseMetricsAddress } from '../metrics-server.js';
import { describe } from '../output.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';
import { waitForSignal } from '../wait-for-signal.js';

/** Environment variable read when `--token` is not given (keeps the token out of `ps`). */
export const DASHBOARD_TOKEN_ENV = 'CONVEYOR_DASHBOARD_TOKEN';

const def = {
  name: 'dashboard',
  summary: 'serve a live web page of queues, workers, failures and dead letters',
  usage: [
    'conveyor dashboard --broker URL [--results URL] [--queue NAME]... [--listen [HOST]:PORT] [--token TOKEN] [--allow-redrive-purge]',
  ],
  description:
    'Serves one page (no framework, nothing to build) that updates itself over Server-Sent\n' +
    'Events: each queue with its ready, in-flight, delayed and dead-lettered counts ("-" where the\n' +
    'broker cannot tell), workers from their Celery heartbeats, recent failures with their\n' +
    'exceptions, and the letters of each dead-letter queue. Workers and failures come from Celery\n' +
    'events (start workers with --events): on a broker without them (SQS, Kafka) the page says so.\n' +
    '\n' +
    'With --results, each dead letter also shows the state, exception and traceback its task\n' +
    'stored in the result backend (the failures of brokers without events, too).\n' +
    '\n' +
    'Queues: the ones named with --queue (default celery), plus those task-sent events name.\n' +
    '\n' +
    'Read-only unless started with --allow-redrive-purge: then each dead-letter queue has a\n' +
    'Redrive button and a Purge button that asks to type the queue name first. It listens on\n' +
    '127.0.0.1 unless --listen says otherwise; --token (or $CONVEYOR_DASHBOARD_TOKEN) makes every\n' +
    'request carry the token: open the page as http://HOST:PORT/?token=TOKEN. Listing dead letters\n' +
    'reads them by consuming them and giving them back, as conveyor dlq list does.',
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    results: { type: 'string', short: 'r', placeholder: 'URL', description: RESULTS_OPTION_HELP },
    queue: {
      type: 'string',
      short: 'q',
      multiple: true,
      placeholder: 'NAME',
      description: 'a queue to show (repeat; default celery); its DLQ is NAME.dlq',
    },
    listen: {
      type: 'string',
      placeholder: '[HOST]:PORT',
      description: 'where the page is served (default 127.0.0.1:8808; :0 picks a free port)',
    },
    token: {
      type: 'string',
      placeholder: 'TOKEN',
      description: `require this token on every request (default: $${DASHBOARD_TOKEN_ENV})`,
    },
    'allow-redrive-purge': {
      type: 'boolean',
      description: 'allow the page to redrive and purge dead letters (read-only without it)',
    },
    'poll-ms': {
      type: 'string',
      placeholder: 'MS',
      description: 'how often queue depths are read and the page updated (default 1000)',
    },
    require: REQUIRE_OPTION,
  },
  examples: [
    'conveyor dashboard --broker redis://localhost:6379 --queue emails --queue reports',
    'CONVEYOR_DASHBOARD_TOKEN=s3cret conveyor dashboard --broker amqp://localhost --listen 0.0.0.0:8808 --allow-redrive-purge',
  ],
} as const satisfies CommandDef;

const DEFAULT_PORT = 8808;

/** `conveyor dashboard`. */
export const dashboardCommand: Command = defineCommand(def, async ({ values }, io) => {
  const hint = usageHint(def.name);
  await importRequiredModules(values.require, io);
  const url = brokerUrl(def.name, values.broker, io);
  const address =
    values.listen === undefined
      ? { host: '127.0.0.1', port: DEFAULT_PORT }
      : listenAddress(values.listen, hint);
  const pollMs = integerOption(def.name, 'poll-ms', values['poll-ms'], { min: 100 }) ?? 1000;
  const rawToken = values.token ?? io.env[DASHBOARD_TOKEN_ENV];
  const token = rawToken === undefined || rawToken === '' ? undefined : rawToken;
  const writable = values['allow-redrive-purge'];
  if (writable && token === undefined && !isLoopback(address.host)) {
    throw new UsageError(
      `${ALLOW_WRITES_OPTION} on ${address.host} needs --token (or $${DASHBOARD_TOKEN_ENV}): anyone who reaches the port could purge`,
      hint,
    );
  }
  const queues = values.queue.length > 0 ? values.queue : ['celery'];

  const backendUrl = resultsUrl(values.results, io);
  let transport: Transport | undefined;
  let results: ResultBackend | undefined;
  const signals = waitForSignal();
  try {
    if (backendUrl !== undefined) results = await openResultBackend(backendUrl);
    transport = await connectTransport(url);
    const state = new DashboardState({
      transport,
      broker: redactUrl(url),
      queues,
      writable,
      results: results !== undefined,
      onError: (error) => io.err(`conveyor: dashboard: ${redactUrl(describe(error))}`),
    });
    await state.start();
    const server = await startDashboardServer({
      transport,
      state,
      address,
      pollMs,
      ...(token !== undefined ? { token } : {}),
      ...(results !== undefined ? { results } : {}),
      onError: (error) => io.err(`conveyor: dashboard: ${redactUrl(describe(error))}`),
    });
    io.out(
      `dashboard: serving ${server.url} (${writable ? 'redrive and purge allowed' : 'read-only'}${token ? ', token required' : ''}; ${transport.name}, queues ${queues.join(', ')}${state.snapshot().events ? '' : '; no events on this broker'})`,
    );
    if (token === undefined && !isLoopback(address.host)) {
      io.err(
        `conveyor: dashboard: listening on ${address.host} without a token: anyone who reaches the port sees the queues`,
      );
    }
    const signal = await signals.next;
    io.out(`received ${signal}: stopping`);
    state.stop();
    await server.close();
    await transport.close();
    await closeQuietly(results);
    return 0;
  } catch (error) {
    signals.dispose();
    await closeQuietly(transport);
    await closeQuietly(results);
    throw error;
  }
});

/** `--listen` takes what `--metrics` takes: `:8808`, `0.0.0.0:8808`, `[::1]:8808`. */
function listenAddress(raw: string, hint: string): { host: string; port: number } {
  try {
    return parseMetricsAddress(def.name, raw);
  } catch {
    throw new UsageError(
      `--listen must be [HOST]:PORT with a port from 0 to 65535, e.g. :8808 or 0.0.0.0:8808; got "${raw}"`,
      hint,
    );
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
