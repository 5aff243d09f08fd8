import { type HealthStatus, redactUrl, type Transport } from '@conveyor/core';
import { type CommandDef, listOption } from '../args.js';
import { BROKER_OPTION_HELP, brokerUrl, closeQuietly, connectTransport } from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';
import { CONSUMER_LAG_NOTE, consumerLag, hasConsumerLag } from './consumer-lag.js';

const def = {
  name: 'inspect',
  summary: 'show queue depths, dead-letter counts and broker health',
  usage: ['conveyor inspect --broker URL [--queue celery]... [--json] [--require MODULE]...'],
  description:
    'For each queue prints the messages ready, in flight (delivered, not yet acknowledged) and\n' +
    'delayed, and the depth of its dead-letter queue <queue>.dlq. "-" means the broker cannot\n' +
    'tell cheaply. On Kafka it adds the lag: the records its consumer group has not committed.\n' +
    'When the transport reports facts about the broker (brokerFacts(); Redis: its\n' +
    'persistence and what a crash can lose, its maxmemory-policy), they are printed too.\n' +
    'Exits 1 when the health check fails.',
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    queue: {
      type: 'string',
      short: 'q',
      multiple: true,
      placeholder: 'NAME',
      description: 'queue to inspect; repeat it or give a comma list (default celery)',
    },
    json: { type: 'boolean', description: 'print JSON instead of a table' },
    require: REQUIRE_OPTION,
  },
  examples: [
    'conveyor inspect --broker redis://localhost:6379 --queue celery,emails',
    'conveyor inspect --require @acme/conveyor-nats --broker nats://localhost:4222',
  ],
} as const satisfies CommandDef;

/** Depths of one queue; `null` where the broker cannot tell. */
export interface QueueReport {
  queue: string;
  ready: number;
  inFlight: number | null;
  delayed: number | null;
  deadLettered: number;
  /** Records the queue's consumer group has not committed; only where the broker has one (Kafka). */
  lag?: number;
}

/**
 * What a transport may offer beyond the contract for `inspect`: facts about the broker's own
 * settings that decide what it keeps (Redis: persistence, eviction policy), as label -> text.
 * Optional and structural: a third-party transport adds the method, imports nothing, and the core
 * Transport contract stays as small as it is.
 */
export interface BrokerFactsSource {
  brokerFacts(): Promise<Record<string, string>>;
}

/** The transport's broker facts, or null when it offers none. */
async function brokerFactsOf(transport: Transport): Promise<Record<string, string> | null> {
  const source = transport as Transport & Partial<BrokerFactsSource>;
  return typeof source.brokerFacts === 'function' ? await source.brokerFacts() : null;
}

/** `conveyor inspect`. */
export const inspectCommand: Command = defineCommand(def, async ({ values }, io) => {
  await importRequiredModules(values.require, io);
  const url = brokerUrl(def.name, values.broker, io);
  const queues = listOption(values.queue);
  if (queues.length === 0) queues.push('celery');

  let transport: Transport | undefined;
  try {
    transport = await connectTransport(url);
    const health = await transport.health();
    const reports: QueueReport[] = [];
    let facts: Record<string, string> | null = null;
    if (health.ok) {
      facts = await brokerFactsOf(transport);
      const withLag = hasConsumerLag(transport.name);
      for (const queue of queues) {
        const depth = await transport.queueDepth(queue);
        const dead = await transport.queueDepth(`${queue}.dlq`);
        const report: QueueReport = {
          queue,
          ready: depth.ready,
          inFlight: depth.inFlight ?? null,
          delayed: depth.delayed ?? null,
          deadLettered: dead.ready,
        };
        if (withLag) report.lag = consumerLag(report);
        reports.push(report);
      }
    }
    const name = transport.name;
    await transport.close();
    if (values.json) {
      const broker = redactUrl(url);
      io.out(
        JSON.stringify(
          { broker, transport: name, health, ...(facts ? { facts } : {}), queues: reports },
          null,
          2,
        ),
      );
    } else {
      io.out(`broker  ${redactUrl(url)} (${name} transport)`);
      io.out(`health  ${formatHealth(health)}`);
      for (const [label, value] of Object.entries(facts ?? {})) io.out(`${label}  ${value}`);
      if (reports.length > 0) io.out('');
      for (const line of formatTable(reports)) io.out(line);
      if (reports.some((r) => r.lag !== undefined)) io.out(CONSUMER_LAG_NOTE);
    }
    return health.ok ? 0 : 1;
  } catch (error) {
    await closeQuietly(transport);
    throw error;
  }
});

function formatHealth(health: HealthStatus): string {
  const latency = `${Math.round(health.latencyMs * 10) / 10} ms round trip`;
  return health.ok ? `ok, ${latency}` : `DOWN (${redactUrl(health.detail ?? 'no detail')}), ${latency}`;
}

/**
 * The queue table: a header and one line per queue, columns right-aligned. A `lag` column follows
 * when the reports have one (Kafka).
 */
export function formatTable(reports: readonly QueueReport[]): string[] {
  if (reports.length === 0) return [];
  const withLag = reports.some((r) => r.lag !== undefined);
  const header = ['queue', 'ready', 'in flight', 'delayed', 'dead-lettered', ...(withLag ? ['lag'] : [])];
  const rows = reports.map((r) => [
    r.queue,
    cell(r.ready),
    cell(r.inFlight),
    cell(r.delayed),
    cell(r.deadLettered),
    ...(withLag ? [cell(r.lag ?? null)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: readonly string[]): string =>
    row.map((value, i) => (i === 0 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!))).join('  ');
  return [format(header), ...rows.map(format)];
}

function cell(value: number | null): string {
  return value === null ? '-' : String(value);
}
