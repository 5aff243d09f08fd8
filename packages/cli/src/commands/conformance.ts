import { isAbsolute, relative, resolve } from 'node:path';
// Types only: the suite itself is imported when this command runs, so the other commands work
// without it.
import type {
  CaseResult,
  ConformanceHarness,
  Endpoint,
  TransportFactoryOptions,
} from '@conveyor/conformance';
import { brokerScheme, redactUrl, type Transport, transportFromUrl } from '@conveyor/core';
import { type CommandDef, listOption, usageHint } from '../args.js';
import {
  BROKER_ENV,
  BROKER_OPTION_HELP,
  brokerUrl,
  closeQuietly,
  connect,
  connectTransport,
} from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { CliError, debugEnabled, UsageError } from '../errors.js';
import { loadHarness } from '../load-harness.js';
import { describe, type Io } from '../output.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';

const def = {
  name: 'conformance',
  summary: 'run the transport conformance suite against a broker',
  usage: [
    'conveyor conformance --broker URL [--report FILE] [--only ID,ID] [--require MODULE]...',
    'conveyor conformance --harness MODULE [--broker URL] [--report FILE] [--only ID,ID]',
  ],
  description:
    'Checks that the transport behind URL keeps the Transport contract and every capability it\n' +
    'claims, against the real broker: each case opens fresh connections from the same URL.\n' +
    'With --harness, the cases run on the ConformanceHarness the module exports (its default or\n' +
    '"harness" export, or a function ({ broker }) returning one): the same object a vitest file\n' +
    'gives describeTransportConformance, with all its hooks (publishRaw, upstream, queueName,\n' +
    'cleanup, scale, patienceMs).\n' +
    'Prints one line per case on standard error, then the report; exits 1 if a case failed.\n' +
    'Cases use their own queues, but run it against a broker you can afford to load.',
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    harness: {
      type: 'string',
      placeholder: 'MODULE',
      description: 'run on the conformance harness MODULE exports (a ./path or a package name)',
    },
    report: {
      type: 'string',
      short: 'r',
      placeholder: 'FILE',
      description: 'also write the report as JSON to FILE',
    },
    only: {
      type: 'string',
      multiple: true,
      placeholder: 'ID,ID',
      description: 'run only these cases (e.g. PUB-01,DLQ-01); repeat it or give a comma list',
    },
    require: REQUIRE_OPTION,
  },
  examples: [
    'conveyor conformance --broker memory://',
    'conveyor conformance --broker redis://localhost:6379 --report conformance-report.json',
    'conveyor conformance --harness ./conformance-harness.mjs --only DLQ-02,RCN-01',
  ],
} as const satisfies CommandDef;

/**
 * Schemes whose URL host:port is a plain TCP broker address the suite's fault proxy can sit in front
 * of. `sqs://host:port` is plain HTTP (ElasticMQ, LocalStack); `sqs://` alone is AWS, which has no
 * host in the URL, and `sqs+https://` would fail TLS through the proxy. `kafka://host:port` (one
 * broker): a Kafka client dials the addresses the broker advertises once bootstrapped, so the URL
 * also gets `addressMap=*=<proxy>`, which sends every connection through the proxy; a URL listing
 * several brokers gets no proxy.
 */
const PROXYABLE_PORTS: Readonly<Record<string, number>> = { redis: 6379, amqp: 5672, sqs: 80, kafka: 9092 };

/** `conveyor conformance`. */
export const conformanceCommand: Command = defineCommand(def, async ({ values }, io) => {
  await importRequiredModules(values.require, io);
  const reportPath = values.report === undefined ? undefined : resolve(io.cwd, values.report);
  const only = listOption(values.only);
  if (values.harness !== undefined && values.harness.trim() === '') {
    throw new UsageError('--harness must not be empty', usageHint(def.name));
  }
  // Fail fast, before loading the suite: bad URL or harness, missing package, unreachable broker.
  const harness =
    values.harness === undefined
      ? await urlHarness(brokerUrl(def.name, values.broker, io))
      : await moduleHarness(values.harness, values.broker, io);

  const suite = await loadSuite();
  const unknown = only.filter((id) => !suite.ALL_CASES.some((c) => c.id === id));
  if (unknown.length > 0) {
    const known = suite.ALL_CASES.map((c) => c.id).join(', ');
    throw new CliError('INVALID_OPTION', `--only: unknown case ${unknown.join(', ')}; known cases: ${known}`);
  }
  io.err(`Running conformance suite ${suite.SUITE_VERSION} against ${harness.name}...`);
  const stray = catchStrayErrors(io);
  const report = await suite.runConformance(harness, {
    ...(only.length > 0 ? { only } : {}),
    ...(reportPath !== undefined ? { reportPath } : {}),
    onCaseFinished: (result) => io.err(formatCaseLine(result)),
  });
  io.out(suite.formatReport(report));
  if (reportPath !== undefined) io.err(`report written to ${displayPath(reportPath, io)}`);
  if (stray.count > 0) {
    io.err(
      `conveyor: ${stray.count} error${stray.count === 1 ? '' : 's'} escaped the cases (see the warnings above); ` +
        'the run counts as failed, as a test runner would count it',
    );
  }
  return report.summary.failed > 0 || stray.count > 0 ? 1 : 0;
});

/** The harness over a broker URL, once a transport from it has connected. */
async function urlHarness(url: string): Promise<ConformanceHarness> {
  let probe: Transport | undefined;
  try {
    probe = await connectTransport(url);
    const harness = buildHarness(url, probe.name, canPublishRaw(probe));
    await probe.close();
    return harness;
  } catch (error) {
    await closeQuietly(probe);
    throw error;
  }
}

/** The harness a `--harness` module exports, once a transport from it has connected. */
async function moduleHarness(
  specifier: string,
  broker: string | undefined,
  io: Io,
): Promise<ConformanceHarness> {
  const url = broker ?? io.env[BROKER_ENV];
  const harness = await loadHarness(specifier, io.cwd, {
    broker: url === '' ? undefined : url,
    brokerGiven: broker !== undefined,
  });
  let probe: Transport | undefined;
  try {
    probe = await harness.createTransport({});
    await connect(probe, harness.name);
    await probe.close();
    return harness;
  } catch (error) {
    await closeQuietly(probe);
    throw error;
  }
}

/**
 * Like a test runner, keeps going when a case leaks an error (a rejected promise nobody awaited,
 * a throw in a timer) instead of letting Node kill the run: each one is printed as a warning
 * and makes the run fail. The handlers stay for the life of the process, since a leaked timer
 * can fire after the last case.
 */
function catchStrayErrors(io: Io): { readonly count: number } {
  const state = { count: 0 };
  const onError = (error: unknown): void => {
    state.count += 1;
    io.err(`  warning: error outside any case: ${describe(error)}`);
    if (debugEnabled(io.env) && error instanceof Error && error.stack) io.err(redactUrl(error.stack));
  };
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  return state;
}

async function loadSuite(): Promise<typeof import('@conveyor/conformance')> {
  try {
    return await import('@conveyor/conformance');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (
      code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes('@conveyor/conformance')
    ) {
      throw new CliError(
        'UNSUPPORTED_FEATURE',
        'the conformance suite lives in @conveyor/conformance, which is not installed: run `npm install @conveyor/conformance`',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * A harness over a broker URL: every createTransport call opens a new transport from the same
 * URL. A requested visibility timeout travels as the `visibilityTimeoutMs` URL parameter (what
 * memory:// reads); a fault-proxy endpoint replaces the URL's host and port.
 */
export function buildHarness(url: string, transportName: string, rawPublishing: boolean): ConformanceHarness {
  const harness: ConformanceHarness = {
    name: `${transportName} (${redactUrl(url)})`,
    createTransport: (options) => transportFromUrl(urlFor(url, options)),
  };
  if (rawPublishing) {
    harness.publishRaw = async (queue, bytes) => {
      const writer = await transportFromUrl(url);
      try {
        await writer.connect();
        if (!canPublishRaw(writer)) throw new Error(`${writer.name} transport has no publishRaw()`);
        await writer.publishRaw(queue, bytes);
      } finally {
        await writer.close();
      }
    };
  }
  const upstream = upstreamOf(url);
  if (upstream) harness.upstream = upstream;
  return harness;
}

/** The URL for one createTransport call. */
export function urlFor(url: string, options: TransportFactoryOptions): string {
  if (options.visibilityTimeoutMs === undefined && options.endpoint === undefined) return url;
  const parsed = new URL(url);
  if (options.visibilityTimeoutMs !== undefined) {
    parsed.searchParams.set('visibilityTimeoutMs', String(options.visibilityTimeoutMs));
  }
  if (options.endpoint !== undefined) {
    parsed.hostname = options.endpoint.host;
    parsed.port = String(options.endpoint.port);
    if (brokerScheme(url) === 'kafka') {
      parsed.searchParams.set('addressMap', `*=${options.endpoint.host}:${options.endpoint.port}`);
    }
  }
  return parsed.toString();
}

function upstreamOf(url: string): Endpoint | undefined {
  const scheme = brokerScheme(url);
  const defaultPort = PROXYABLE_PORTS[scheme];
  if (defaultPort === undefined) return undefined;
  // Several brokers (`kafka://a:1,b:2`) are no single address to stand in front of.
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.hostname === '') return undefined;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : defaultPort,
  };
}

interface RawPublisher {
  publishRaw(queue: string, bytes: Uint8Array): Promise<void>;
}

function canPublishRaw(transport: Transport): transport is Transport & RawPublisher {
  return typeof (transport as Partial<RawPublisher>).publishRaw === 'function';
}

function formatCaseLine(result: CaseResult): string {
  const mark = result.status === 'passed' ? 'pass' : result.status === 'failed' ? 'FAIL' : 'skip';
  const reason = result.reason ? ` — ${result.reason.split('\n')[0]}` : '';
  return `  ${mark}  ${result.id.padEnd(7)} ${result.title} (${Math.round(result.durationMs)} ms)${reason}`;
}

function displayPath(path: string, io: Io): string {
  const rel = relative(io.cwd, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
