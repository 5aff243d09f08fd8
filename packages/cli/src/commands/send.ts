import { Client, type SendOptions, type Transport, transportFromUrl } from '@conveyor/core';
import { type CommandDef, formatHelp, integerOption, jsonOption, parseCommand, usageHint } from '../args.js';
import { BROKER_OPTION_HELP, brokerUrl, closeQuietly, connect } from '../broker.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

const def = {
  name: 'send',
  summary: 'send a task by name and print its id',
  usage: [
    "conveyor send TASK --broker URL [--args '[1,2]'] [--kwargs '{}'] [--queue Q] [--countdown MS] [--priority N]",
  ],
  description:
    'Publishes one task message (Celery protocol v2, so Python Celery workers run it too) and\n' +
    'prints the task id on standard output.',
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
      description: 'priority level 0..n-1, higher runs first (needs a transport with priorities)',
    },
  },
  examples: [
    "conveyor send tasks.add --broker redis://localhost:6379 --args '[2, 3]'",
    'conveyor send emails.send -b amqp://localhost --kwargs \'{"to": "a@example.com"}\' --countdown 60000',
  ],
} as const satisfies CommandDef;

/** `conveyor send`. */
export const sendCommand: Command = {
  def,
  async run(argv, io) {
    const { help, values, positionals } = parseCommand(def, argv);
    if (help) {
      io.out(formatHelp(def));
      return 0;
    }
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

    const options: SendOptions = {};
    if (kwargs !== undefined) options.kwargs = kwargs;
    if (values.queue !== undefined) options.queue = values.queue;
    if (countdownMs !== undefined) options.countdownMs = countdownMs;
    if (priority !== undefined) options.priority = priority;

    let transport: Transport | undefined;
    try {
      transport = await transportFromUrl(url);
      await connect(transport, url);
      const client = new Client({ transport });
      const handle = await client.send(name, args, options);
      io.out(handle.id);
      if (transport.name === 'memory') {
        io.err(
          'note: memory:// lives inside this process, so the message is gone when it exits; use a real broker to reach a worker',
        );
      }
      await transport.close();
      return 0;
    } catch (error) {
      await closeQuietly(transport);
      throw error;
    }
  },
};
