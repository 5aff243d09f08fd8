import { createInterface } from 'node:readline/promises';
import {
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterPassOptions,
  type DeadLetterProgress,
  deadLetterQueueOf,
  findDeadLetter,
  isEmptyDeadLetterFilter,
  listDeadLetters,
  parseDeadLetterFilter,
  purgeDeadLetters,
  redactUrl,
  redriveDeadLetters,
  type Transport,
} from '@conveyor/core';
import { type CommandDef, integerOption, usageHint } from '../args.js';
import { BROKER_OPTION_HELP, brokerUrl, closeQuietly, connectTransport } from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { describe, type Io } from '../output.js';
import { ProgressBar } from '../progress-bar.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';

const ACTIONS = ['list', 'show', 'redrive', 'purge'] as const;
type Action = (typeof ACTIONS)[number];

const def = {
  name: 'dlq',
  summary: 'list, show, redrive or purge the letters of a dead-letter queue',
  usage: [
    'conveyor dlq list --broker URL [--queue celery] [--filter KEY=VALUE]... [--limit N] [--json]',
    'conveyor dlq show ID --broker URL [--queue celery] [--json]',
    'conveyor dlq redrive --broker URL [--queue celery] [--filter KEY=VALUE]... [--to QUEUE] [--include-raw] [--dry-run]',
    'conveyor dlq purge --broker URL [--queue celery] [--filter KEY=VALUE]... [--dry-run] [--yes]',
  ],
  description:
    'Works on the dead-letter queue <queue>.dlq (or --dlq NAME) of any broker, through the\n' +
    'transport contract. Every command reads the letters by consuming them and gives back the\n' +
    'ones it does not move or remove, so reading counts as a delivery where the broker counts\n' +
    'them (a RabbitMQ quorum queue with a delivery limit drops a letter past it). A pass stops at\n' +
    '--limit, at the count the queue reported when it began, or after --idle-ms without a letter.\n' +
    '\n' +
    'list prints each letter: its key (the task id, or raw:<fingerprint> for bytes that never\n' +
    'decoded), task, reason, when it was dead-lettered and its deliveries. show ID prints one\n' +
    'letter whole (headers, properties, body).\n' +
    '\n' +
    'redrive publishes a copy of each matching letter to its source queue (or --to) and removes\n' +
    'the letter only once the broker confirmed the copy: at least once, never lost. The copy keeps\n' +
    'the task id and headers, drops the dead-letter headers and starts at delivery 1. A letter\n' +
    'whose copy fails stays where it is and is counted as failed (exit 1). Raw letters are left in\n' +
    'place unless --include-raw; truncated ones always are.\n' +
    '\n' +
    'purge removes the matching letters (all without --filter); it asks first unless --yes.\n' +
    '\n' +
    'Filters (repeat --filter; all must match): task=NAME (* is a wildcard), reason=TEXT\n' +
    '(contained, any case), since=DURATION|TIME (30m, 2h, 7d or 2026-12-01T10:00:00Z; a letter\n' +
    'that does not say when it was dead-lettered never matches since=).\n' +
    '\n' +
    'Counts go to standard output; a progress bar to standard error when it is a terminal (or\n' +
    'with --progress); --json prints one JSON document for scripts.',
  positionals: [
    { name: 'ACTION', description: 'list, show, redrive or purge' },
    { name: 'ID', description: 'show: the key list printed (a task id or raw:<fingerprint>)' },
  ],
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    queue: {
      type: 'string',
      short: 'q',
      placeholder: 'NAME',
      description: 'the queue whose dead letters are meant (default celery): its DLQ is NAME.dlq',
    },
    dlq: {
      type: 'string',
      placeholder: 'NAME',
      description: 'the dead-letter queue, when it is not <queue>.dlq',
    },
    filter: {
      type: 'string',
      short: 'f',
      multiple: true,
      placeholder: 'KEY=VALUE',
      description: 'task=NAME, reason=TEXT or since=DURATION|TIME; repeat to narrow',
    },
    limit: {
      type: 'string',
      short: 'n',
      placeholder: 'N',
      description: 'read at most N letters (list default 100)',
    },
    to: {
      type: 'string',
      placeholder: 'QUEUE',
      description: "redrive: publish here instead of each letter's source",
    },
    'include-raw': { type: 'boolean', description: 'redrive: also move raw letters (bytes, not tasks)' },
    'dry-run': { type: 'boolean', description: 'redrive, purge: print what would happen, change nothing' },
    yes: { type: 'boolean', short: 'y', description: 'purge: do not ask for confirmation' },
    'idle-ms': {
      type: 'string',
      placeholder: 'MS',
      description: 'stop after this long without a letter (default 1500)',
    },
    json: { type: 'boolean', description: 'print JSON instead of text' },
    progress: { type: 'boolean', description: 'draw the progress bar even when stderr is not a terminal' },
    require: REQUIRE_OPTION,
  },
  examples: [
    'conveyor dlq list --broker redis://localhost:6379 --queue emails',
    'conveyor dlq show 5d0f3c1e-... --broker redis://localhost:6379 --queue emails',
    'conveyor dlq redrive --broker amqp://localhost --queue emails --filter task=emails.send --filter since=2h',
    'conveyor dlq purge --broker sqs://localhost:9324 --queue emails --filter reason=ValidationError --yes',
  ],
} as const satisfies CommandDef;

/** The longest reason `list` prints on a line (show prints it whole). */
const REASON_WIDTH = 80;
const DEFAULT_LIST_LIMIT = 100;

/** `conveyor dlq`. */
export const dlqCommand: Command = defineCommand(def, async ({ values, positionals }, io) => {
  const hint = usageHint(def.name);
  const action = positionals[0] as Action | undefined;
  if (action === undefined || !ACTIONS.includes(action)) {
    const got = action === undefined ? 'missing ACTION' : `unknown ACTION "${action}"`;
    throw new UsageError(`${got}: conveyor dlq list, show ID, redrive or purge`, hint);
  }
  const id = positionals[1];
  if (action === 'show' && id === undefined)
    throw new UsageError('dlq show needs the ID that list printed', hint);
  if (action !== 'show' && id !== undefined)
    throw new UsageError(`unexpected argument "${id}" for dlq ${action}`, hint);
  for (const [option, allowed] of [
    ['to', ['redrive']],
    ['include-raw', ['redrive']],
    ['dry-run', ['redrive', 'purge']],
    ['yes', ['purge']],
  ] as const) {
    const given = values[option];
    if (given !== undefined && given !== false && !(allowed as readonly Action[]).includes(action)) {
      throw new UsageError(`--${option} is for dlq ${allowed.join(' and ')}, not dlq ${action}`, hint);
    }
  }
  await importRequiredModules(values.require, io);
  const url = brokerUrl(def.name, values.broker, io);
  const filter = parseDeadLetterFilter(values.filter, '--filter');
  const limit = integerOption(def.name, 'limit', values.limit, { min: 1 });
  const idleMs = integerOption(def.name, 'idle-ms', values['idle-ms'], { min: 1 });
  const pass: DeadLetterPassOptions = {
    queue: values.queue ?? 'celery',
    ...(values.dlq !== undefined ? { deadLetterQueue: values.dlq } : {}),
    ...(idleMs !== undefined ? { idleMs } : {}),
    onError: (error) => io.err(`conveyor: dlq: ${redactUrl(describe(error))}`),
  };
  const dlq = deadLetterQueueOf(pass);
  if (action === 'purge' && !values.yes && !values['dry-run'] && !process.stdin.isTTY) {
    throw new UsageError(
      `dlq purge removes letters for good: add --yes to purge ${dlq} without a terminal`,
      hint,
    );
  }

  const bar =
    values.progress || (process.stderr.isTTY && !values.json)
      ? new ProgressBar(process.stderr, action)
      : null;
  const run: ActionRun = {
    pass: { ...pass, ...(limit !== undefined ? { limit } : {}) },
    filter,
    json: values.json,
    io,
    onProgress: (progress) => bar?.update(progress),
  };
  let transport: Transport | undefined;
  try {
    transport = await connectTransport(url);
    let code: number;
    if (action === 'list') {
      code = await list(
        transport,
        { ...run, pass: { ...run.pass, limit: limit ?? DEFAULT_LIST_LIMIT } },
        bar,
      );
    } else if (action === 'show') {
      bar?.finish();
      code = await show(transport, { ...run.pass, key: id ?? '' }, values.json, io);
    } else if (action === 'redrive') {
      const options = {
        ...(values.to !== undefined ? { to: values.to } : {}),
        includeRaw: values['include-raw'],
        dryRun: values['dry-run'],
      };
      code = await redrive(transport, run, options, bar);
    } else {
      const confirmed =
        values.yes || values['dry-run'] || (await confirmPurge(transport, dlq, values.filter));
      if (!confirmed) {
        io.out('purge cancelled: nothing removed');
        code = 1;
      } else code = await purge(transport, run, values['dry-run'], bar);
    }
    await transport.close();
    return code;
  } catch (error) {
    bar?.finish();
    await closeQuietly(transport);
    throw error;
  }
});

/** What every action takes from the command line. */
interface ActionRun {
  pass: DeadLetterPassOptions;
  filter: DeadLetterFilter;
  json: boolean;
  io: Io;
  onProgress: (progress: DeadLetterProgress) => void;
}

async function list(transport: Transport, run: ActionRun, bar: ProgressBar | null): Promise<number> {
  const listing = await listDeadLetters(transport, {
    ...run.pass,
    filter: run.filter,
    onProgress: run.onProgress,
  });
  bar?.finish();
  if (run.json) {
    run.io.out(JSON.stringify({ ...listing, letters: listing.letters.map(summaryOf) }, null, 2));
    return 0;
  }
  for (const line of formatLetters(listing.letters)) run.io.out(line);
  const matching = isEmptyDeadLetterFilter(run.filter) ? '' : `, ${listing.letters.length} matching`;
  run.io.out(`${listing.seen} of ${listing.waiting} letters read in ${listing.deadLetterQueue}${matching}`);
  return 0;
}

async function redrive(
  transport: Transport,
  run: ActionRun,
  options: { to?: string; includeRaw: boolean; dryRun: boolean },
  bar: ProgressBar | null,
): Promise<number> {
  const report = await redriveDeadLetters(transport, {
    ...run.pass,
    ...options,
    filter: run.filter,
    onProgress: run.onProgress,
  });
  bar?.finish();
  if (run.json) run.io.out(JSON.stringify(report, null, 2));
  else {
    for (const o of report.outcomes) {
      const where = o.to === null ? '' : ` -> ${o.to}`;
      const why = o.detail ? ` (${o.detail})` : '';
      run.io.out(`${o.outcome.padEnd(10)} ${o.key}  ${o.task ?? '-'}${where}${why}`);
    }
    run.io.out(
      report.dryRun
        ? `dry run on ${report.deadLetterQueue}: would move ${report.wouldMove}, skipped ${report.skipped}, unmatched ${report.unmatched} (${report.seen} read); nothing moved`
        : `redrive from ${report.deadLetterQueue}: moved ${report.moved}, skipped ${report.skipped}, failed ${report.failed}, unmatched ${report.unmatched} (${report.seen} read)`,
    );
  }
  return report.failed > 0 ? 1 : 0;
}

async function purge(
  transport: Transport,
  run: ActionRun,
  dryRun: boolean,
  bar: ProgressBar | null,
): Promise<number> {
  const report = await purgeDeadLetters(transport, {
    ...run.pass,
    filter: run.filter,
    dryRun,
    onProgress: run.onProgress,
  });
  bar?.finish();
  if (run.json) run.io.out(JSON.stringify(report, null, 2));
  else
    run.io.out(
      report.dryRun
        ? `dry run on ${report.deadLetterQueue}: would purge ${report.wouldPurge}, unmatched ${report.unmatched} (${report.seen} read); nothing removed`
        : `purged ${report.purged} from ${report.deadLetterQueue}, failed ${report.failed}, unmatched ${report.unmatched} (${report.seen} read)`,
    );
  return report.failed > 0 ? 1 : 0;
}

/** Asks on the terminal, naming the queue, how many letters wait and the filter. */
async function confirmPurge(transport: Transport, dlq: string, filters: readonly string[]): Promise<boolean> {
  const waiting = (await transport.queueDepth(dlq)).ready;
  const what = filters.length === 0 ? 'every letter' : `the letters matching ${filters.join(' ')}`;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Purge ${what} of ${dlq} (${waiting} waiting)? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

async function show(
  transport: Transport,
  options: Parameters<typeof findDeadLetter>[1],
  json: boolean,
  io: Io,
): Promise<number> {
  const letter = await findDeadLetter(transport, options);
  if (letter === null) {
    io.err(`conveyor: no letter "${options.key}" in ${deadLetterQueueOf(options)}`);
    return 1;
  }
  const body = bodyOf(letter);
  if (json) {
    io.out(
      JSON.stringify(
        {
          ...summaryOf(letter),
          headers: letter.message?.headers ?? {},
          properties: letter.message?.properties ?? null,
          body,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  const summary = summaryOf(letter);
  const rows: [string, string][] = [
    ['key', summary.key],
    ['task', summary.task ?? '-'],
    ['task id', summary.taskId ?? '-'],
    ['kind', summary.kind],
    ['reason', summary.reason ?? '-'],
    ['source queue', summary.sourceQueue ?? '-'],
    ['dead-lettered', summary.deadLetteredAt ?? 'unknown'],
    ['deliveries', String(summary.deliveryCount)],
    ['content type', summary.contentType ?? '-'],
    ['bytes', String(summary.bytes)],
    ['headers', JSON.stringify(letter.message?.headers ?? {})],
    ['properties', JSON.stringify(letter.message?.properties ?? null)],
    [`body (${body.encoding})`, body.data],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  for (const [label, value] of rows) io.out(`${label.padEnd(width)}${value}`);
  return 0;
}

/** What list prints of a letter, in JSON: everything but its payload. */
function summaryOf(letter: DeadLetter) {
  return {
    key: letter.key,
    index: letter.index,
    taskId: letter.taskId,
    task: letter.task,
    kind: letter.kind,
    reason: letter.reason,
    sourceQueue: letter.sourceQueue,
    deadLetteredAt: letter.deadLetteredAt?.toISOString() ?? null,
    deliveryCount: letter.deliveryCount,
    contentType: letter.contentType,
    bytes: letter.bytes,
  };
}

/** The payload as text where it is UTF-8, else as base64 (garbage is shown exactly). */
function bodyOf(letter: DeadLetter): { encoding: 'utf-8' | 'base64'; data: string } {
  const bytes = letter.message?.body ?? new Uint8Array(0);
  try {
    return { encoding: 'utf-8', data: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { encoding: 'base64', data: Buffer.from(bytes).toString('base64') };
  }
}

/** The list table: a header and one line per letter. */
export function formatLetters(letters: readonly DeadLetter[]): string[] {
  if (letters.length === 0) return [];
  const header = ['#', 'key', 'task', 'dead-lettered', 'deliveries', 'reason'];
  const rows = letters.map((l) => [
    String(l.index),
    l.key,
    l.task ?? '-',
    l.deadLetteredAt?.toISOString() ?? 'unknown',
    String(l.deliveryCount),
    oneLine(l.reason ?? '-'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: readonly string[]): string =>
    row
      .map((value, i) => (i === row.length - 1 ? value : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}

function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > REASON_WIDTH ? `${flat.slice(0, REASON_WIDTH - 1)}…` : flat;
}
