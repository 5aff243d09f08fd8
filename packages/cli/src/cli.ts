/**
 * The `conveyor` command line, callable in-process: `runCli(argv)` resolves with the exit code
 * and never throws (errors are printed; see reportError for the exit codes).
 */
import { readFileSync } from 'node:fs';
import { closest, usageHint } from './args.js';
import type { Command } from './command.js';
import { conformanceCommand } from './commands/conformance.js';
import { dashboardCommand } from './commands/dashboard.js';
import { dlqCommand } from './commands/dlq.js';
import { inspectCommand } from './commands/inspect.js';
import { schedulerCommand } from './commands/scheduler.js';
import { sendCommand } from './commands/send.js';
import { workerCommand } from './commands/worker.js';
import { reportError, UsageError } from './errors.js';
import { type Io, processIo } from './output.js';

export type { Command } from './command.js';
export { UsageError } from './errors.js';
export type { Io } from './output.js';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  workerCommand,
  sendCommand,
  inspectCommand,
  dlqCommand,
  dashboardCommand,
  schedulerCommand,
  conformanceCommand,
];

/** The CLI's version, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The top-level help. */
export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.def.name.length)) + 3;
  return [
    'Usage: conveyor <command> [options]',
    '',
    'Celery-compatible task queues for Node: run workers, send tasks, inspect queues.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.def.name.padEnd(width)}${c.def.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help; "conveyor <command> --help" shows a command\'s options',
    '  -v, --version  print the version',
    '',
    'Broker URLs: memory:// is built in (one process only); redis://, amqp://, sqs:// and kafka://',
    'need @conveyor/redis, @conveyor/amqp, @conveyor/sqs or @conveyor/kafka installed. The URL',
    'can come from --broker or from $CONVEYOR_BROKER_URL; passwords are never printed. Any other',
    'scheme comes from a transport package that registers it: load it with --require MODULE',
    '(or $CONVEYOR_REQUIRE), e.g. conveyor worker --require @acme/conveyor-nats --broker nats://...',
    '',
    'Exit codes: 0 success, 1 failure (a failed conformance case, an unexpected error),',
    '2 usage or configuration error. CONVEYOR_DEBUG=1 prints stack traces.',
  ].join('\n');
}

/** Runs `conveyor` with `argv` (the arguments after the program name). */
export async function runCli(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.err(topLevelHelp());
      return 2;
    }
    if (first === '-h' || first === '--help') {
      io.out(topLevelHelp());
      return 0;
    }
    if (first === '-v' || first === '--version') {
      io.out(version());
      return 0;
    }
    if (first === 'help') {
      const target = rest[0];
      if (target === undefined) {
        io.out(topLevelHelp());
        return 0;
      }
      return await findCommand(target).run(['--help'], io);
    }
    if (first.startsWith('-')) {
      throw new UsageError(
        `unknown option ${first}: options go after the command, e.g. conveyor worker --broker URL`,
        usageHint(),
      );
    }
    return await findCommand(first).run(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.def.name === name);
  if (command) return command;
  const guess = closest(
    name,
    COMMANDS.map((c) => c.def.name),
  );
  throw new UsageError(`unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`, usageHint());
}
