import {
  Client,
  type ResultBackend,
  ResultTimeoutError,
  type SendOptions,
  TaskFailedError,
  TaskRevokedError,
  type Transport,
  transportFromUrl,
} from '@conveyor/core';
import { type CommandDef, integerOption, jsonOption, usageHint } from '../args.js';
import {
  BROKER_OPTION_HELP,
  brokerUrl,
  closeQuietly,
  connect,
  openResultBackend,
  RESULTS_ENV,
  RESULTS_OPTION_HELP,
  resultsUrl,
} from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';
import { clientSigningFromFlags, SIGN_OPTIONS } from '../signing-flags.js';

const def = {
  name: 'send',
  summary: 'send a task by name and print its id',
  usage: [
    "conveyor send TASK --broker URL [--args '[1,2]'] [--kwargs '{}'] [--queue Q] [--countdown MS] [--priority N]",
    'conveyor send TASK --broker URL --results URL --wait [--timeout MS] [...]',
    'conveyor send TASK --require MODULE --broker URL [...]',
    'conveyor send TASK --broker URL --sign-key FILE --sign-cert FILE [--sign-key-passphrase-env VAR] [--bind-headers] [...]',
  ],
  description:
    'Publishes one task message (Celery protocol v2, so Python Celery workers run it too) and\n' +
    'prints the task id on standard output. With --wait it then waits for the result in the\n' +
    'result backend (--results) and prints it as JSON on a second line; a task that failed, was\n' +
    'revoked or gave no result in time exits with code 1 and says why.\n' +
    "With --sign-key and --sign-cert the task is signed in Celery's auth format; a worker started\n" +
    'with --trust (or a Celery worker with accept_content=["auth"]) runs it (see docs/signing.md).',
  positionals: [{ name: 'TASK', description: 'registered task name, e.g. tasks.add' }],
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    args: {
      type: 'string',
      short: 'a',
      placeholder: 'JSON',
      description: 'positional arguments, a JSON array (default [])',
    },
    kwargs: {
      type: 'string',
      short: 'k',
      placeholder: 'JSON',
      description: 'keyword arguments, a JSON object (default {})',
    },
    queue: {
      type: 'string',
      short: 'q',
      placeholder: 'NAME',
      description: 'queue to send to (default celery)',
    },
    countdown: {
      type: 'string',
      placeholder: 'MS',
      description: 'run no earlier than MS milliseconds from now',
    },
    priority: {
      type: 'string',
      placeholder: 'N',
      description:
        'priority level 0..n-1, higher runs first (needs a transport with priorities; on RabbitMQ add ?priorityLevels=N to the URL)',
    },
    results: { type: 'string', short: 'r', placeholder: 'URL', description: RESULTS_OPTION_HELP },
    wait: { type: 'boolean', short: 'w', description: 'wait for the result and print it (needs --results)' },
    timeout: {
      type: 'string',
      placeholder: 'MS',
      description: 'with --wait, give up after MS milliseconds (default 30000)',
    },
    require: REQUIRE_OPTION,
    ...SIGN_OPTIONS,
  },
  examples: [
    "conveyor send tasks.add --broker redis://localhost:6379 --args '[2, 3]'",
    'conveyor send emails.send -b amqp://localhost --kwargs \'{"to": "a@example.com"}\' --countdown 60000',
    "conveyor send tasks.add -b amqp://localhost -r redis://localhost:6379/1 --args '[2, 3]' --wait",
    "conveyor send tasks.add -b redis://localhost:6379 --args '[2, 3]' --sign-key producer.key --sign-cert producer.pem",
  ],
} as const satisfies CommandDef;

/** `conveyor send`. */
export const sendCommand: Command = defineCommand(def, async ({ values, positionals }, io) => {
  await importRequiredModules(values.require, io);
  const name = positionals[0];
  if (name === undefined || name.trim() === '') {
    throw new UsageError('missing the task name: conveyor send TASK --broker URL', usageHint(def.name));
  }
  const url = brokerUrl(def.name, values.broker, io);
  const args = values.args === undefined ? [] : jsonOption(def.name, 'args', values.args, 'array');
  const kwargs =
    values.kwargs === undefined ? undefined : jsonOption(def.name, 'kwargs', values.kwargs, 'object');
  const countdownMs = integerOption(def.name, 'countdown', values.countdown, { min: 0 });
  const priority = integerOption(def.name, 'priority', values.priority, { min: 0 });
  if (values.queue !== undefined && values.queue.trim() === '') {
    throw new UsageError('--queue must not be empty', usageHint(def.name));
  }
  const storeIn = resultsUrl(values.results, io);
  const timeout = integerOption(def.name, 'timeout', values.timeout, { min: 1 });
  if (values.wait && storeIn === undefined) {
    throw new UsageError(
      `--wait needs a result backend: add --results URL (or set ${RESULTS_ENV})`,
      usageHint(def.name),
    );
  }
  if (timeout !== undefined && !values.wait) {
    throw new UsageError('--timeout only applies with --wait', usageHint(def.name));
  }
  const signing = await clientSigningFromFlags(def.name, values, io);

  const options: SendOptions = {};
  if (kwargs !== undefined) options.kwargs = kwargs;
  if (values.queue !== undefined) options.queue = values.queue;
  if (countdownMs !== undefined) options.countdownMs = countdownMs;
  if (priority !== undefined) options.priority = priority;

  let transport: Transport | undefined;
  let results: ResultBackend | undefined;
  try {
    transport = await transportFromUrl(url);
    if (storeIn !== undefined) results = await openResultBackend(storeIn);
    await connect(transport, url);
    const client = new Client({
      transport,
      ...(results === undefined ? {} : { results }),
      ...(signing === undefined ? {} : { signing }),
    });
    const handle = await client.send(name, args, options);
    io.out(handle.id);
    if (transport.name === 'memory') {
      io.err(
        'note: memory:// lives inside this process, so the message is gone when it exits; use a real broker to reach a worker',
      );
    }
    let code = 0;
    if (values.wait) {
      try {
        io.out(JSON.stringify(await handle.get({ timeout: timeout ?? 30_000 })));
      } catch (error) {
        // The task's own outcome, not a mistake on the command line: exit 1, one line.
        if (
          !(
            error instanceof TaskFailedError ||
            error instanceof TaskRevokedError ||
            error instanceof ResultTimeoutError
          )
        ) {
          throw error;
        }
        io.err(`conveyor: ${error.message}`);
        code = 1;
      }
    }
    await transport.close();
    await results?.close?.();
    return code;
  } catch (error) {
    await closeQuietly(transport);
    await closeQuietly(results);
    throw error;
  }
});
