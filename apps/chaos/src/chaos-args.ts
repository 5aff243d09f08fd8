import { parseArgs } from 'node:util';
import { InvalidOptionError } from '@conveyor/core';
import { BROKER_NAMES, type BrokerName } from './broker-profiles.js';

/** `pnpm chaos` options, validated. */
export interface ChaosArgs {
  readonly brokers: readonly BrokerName[];
  readonly tasks: number;
  readonly workers: number;
  /** Tasks each worker process runs at once. */
  readonly concurrency: number;
  readonly seed: number;
  /** Where the table goes; undefined with --no-doc. */
  readonly doc: string | undefined;
}

export const DEFAULT_TASKS = 10_000;
export const LONG_TASKS = 100_000;
export const USAGE =
  'usage: pnpm chaos --broker redis|rabbitmq|rabbitmq-quorum|sqs|kafka|all [--tasks 10000] [--long] [--workers 3] [--concurrency 4] [--seed S] [--doc docs/reliability.md | --no-doc]';

function positiveInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidOptionError(option, `expected a positive integer, got "${value}"`);
  return parsed;
}

/** node:util's parseArgs errors (unknown option, missing value) as InvalidOptionError. */
function explainParseError(error: unknown): InvalidOptionError {
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'arguments';
  return new InvalidOptionError(option, message);
}

/** node:util's parseArgs with the chaos options. */
function parseWithSchema(argv: readonly string[]) {
  return parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      broker: { type: 'string' },
      tasks: { type: 'string' },
      long: { type: 'boolean' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      doc: { type: 'string' },
      'no-doc': { type: 'boolean' },
    },
    strict: true,
  });
}

/** Parses argv (without node and the script); errors name the option. */
export function parseChaosArgs(argv: readonly string[], defaultDoc: string): ChaosArgs {
  let parsed: ReturnType<typeof parseWithSchema>;
  try {
    parsed = parseWithSchema(argv);
  } catch (error) {
    throw explainParseError(error);
  }
  const { values } = parsed;
  const broker = values.broker;
  if (broker === undefined)
    throw new InvalidOptionError('--broker', `required: ${[...BROKER_NAMES, 'all'].join(', ')}`);
  if (broker !== 'all' && !BROKER_NAMES.includes(broker as BrokerName)) {
    throw new InvalidOptionError(
      '--broker',
      `unknown broker "${broker}"; known: ${[...BROKER_NAMES, 'all'].join(', ')}`,
    );
  }
  if (values.long && values.tasks !== undefined)
    throw new InvalidOptionError('--long', 'give --long or --tasks, not both');
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new InvalidOptionError('--seed', `expected a non-negative integer, got "${values.seed}"`);
  return {
    brokers: broker === 'all' ? BROKER_NAMES : [broker as BrokerName],
    tasks: values.long ? LONG_TASKS : positiveInteger('--tasks', values.tasks, DEFAULT_TASKS),
    workers: positiveInteger('--workers', values.workers, 3),
    concurrency: positiveInteger('--concurrency', values.concurrency, 4),
    seed,
    doc: values['no-doc'] ? undefined : (values.doc ?? defaultDoc),
  };
}
