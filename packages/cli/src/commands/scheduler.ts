import { redactUrl, type Transport } from '@conveyor/core';
import { type CommandDef, integerOption, listOption, usageHint } from '../args.js';
import { BROKER_OPTION_HELP, brokerUrl, closeQuietly, connectTransport } from '../broker.js';
import { type Command, defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import type { Io } from '../output.js';
import { importRequiredModules, REQUIRE_OPTION } from '../required-modules.js';

const DEFAULT_INTERVAL_MS = 500;

const def = {
  name: 'scheduler',
  summary: 'release due delayed tasks to their queues (Redis queues only Python workers consume)',
  usage: ['conveyor scheduler --broker URL [--queue Q]... [--interval MS] [--once] [--require MODULE]...'],
  description:
    'On Redis a task sent with a countdown in "broker" delayed delivery waits in a sorted set that\n' +
    'only Conveyor processes release: Conveyor workers of the queue, and the client that sent it\n' +
    'while it stays connected. A queue consumed only by Python Celery workers, with no such process\n' +
    'running, needs this command: it does nothing but move due delayed messages to their queue,\n' +
    'where any worker finds them. Without --queue it looks for every queue holding delayed messages\n' +
    '(a SCAN each pass; name the queues on a large database). Runs until SIGINT or SIGTERM.\n' +
    'Brokers that release delays by themselves (RabbitMQ, SQS) need no scheduler, nor does Kafka,\n' +
    'whose workers forward delayed messages: it says so, exit 2.',
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: BROKER_OPTION_HELP },
    queue: {
      type: 'string',
      short: 'q',
      multiple: true,
      placeholder: 'NAME',
      description: 'queue to release; repeat it or give a comma list (default: every queue found)',
    },
    interval: {
      type: 'string',
      placeholder: 'MS',
      description: `longest pause between passes; a pass also runs when the next delay is due (default ${DEFAULT_INTERVAL_MS})`,
    },
    once: { type: 'boolean', description: 'make one pass, print what it released, and exit' },
    require: REQUIRE_OPTION,
  },
  examples: [
    'conveyor scheduler --broker redis://localhost:6379/0',
    'conveyor scheduler --broker redis://localhost:6379/0 --queue emails,reports',
    'conveyor scheduler --broker redis://localhost:6379/0 --once',
  ],
} as const satisfies CommandDef;

/** One pass of a transport that releases its own delayed messages (`RedisTransport.releaseDelayed`). */
interface DelayedRelease {
  queues: string[];
  released: Record<string, number>;
  total: number;
  nextDueInMs: number | null;
}

/** A transport whose delayed messages a Conveyor process must release (Redis). */
interface ReleasesDelayed {
  releaseDelayed(queues?: readonly string[]): Promise<DelayedRelease>;
}

function releasesDelayed(transport: Transport): transport is Transport & ReleasesDelayed {
  return typeof (transport as Partial<ReleasesDelayed>).releaseDelayed === 'function';
}

/** `conveyor scheduler`. */
export const schedulerCommand: Command = defineCommand(def, async ({ values }, io) => {
  await importRequiredModules(values.require, io);
  const url = brokerUrl(def.name, values.broker, io);
  const queues = listOption(values.queue);
  const interval = integerOption(def.name, 'interval', values.interval, { min: 1 }) ?? DEFAULT_INTERVAL_MS;

  // Listen before connecting: a signal during startup stops the scheduler as soon as it is up.
  const stop = values.once ? undefined : stopSignal();
  let transport: Transport | undefined;
  try {
    transport = await connectTransport(url);
    if (!releasesDelayed(transport)) {
      // An emulated delay without releaseDelayed() is moved on by the transport's own consumers
      // (Kafka: a forwarder beside every worker), not by the broker.
      const releasedBy =
        transport.capabilities.delay.mode === 'emulated'
          ? 'its delayed messages are forwarded by the Conveyor workers that consume from it'
          : 'its broker releases delayed messages by itself';
      throw new UsageError(
        `the ${transport.name} transport needs no scheduler: ${releasedBy}`,
        usageHint(def.name),
      );
    }
    const what = queues.length > 0 ? queues.join(', ') : 'every queue holding delayed messages';
    const args = queues.length > 0 ? queues : undefined;
    if (values.once) {
      const pass = await transport.releaseDelayed(args);
      io.out(describePass(pass));
      await transport.close();
      return 0;
    }
    io.err(
      `scheduler: releasing due delayed messages of ${what} on ${redactUrl(url)} (${transport.name} transport); ` +
        'press Ctrl+C (SIGINT) or send SIGTERM to stop',
    );
    const signal = await runUntil(transport, args, interval, stop!, io);
    io.err(`scheduler: received ${signal}: stopped`);
    await transport.close();
    return 0;
  } catch (error) {
    stop?.dispose();
    await closeQuietly(transport);
    throw error;
  }
});

/** Passes until a signal: each sleeps until the next delay is due, at most `interval`. */
async function runUntil(
  transport: ReleasesDelayed,
  queues: readonly string[] | undefined,
  interval: number,
  stop: StopSignal,
  io: Io,
): Promise<NodeJS.Signals> {
  let failing = false;
  for (;;) {
    let pause = interval;
    try {
      const pass = await transport.releaseDelayed(queues);
      if (pass.total > 0) io.out(describePass(pass));
      if (pass.nextDueInMs !== null) pause = Math.min(interval, pass.nextDueInMs + 1);
      if (failing) io.err('scheduler: the broker answers again');
      failing = false;
    } catch (error) {
      // The broker is away; the messages wait safely in it. Say so once, then keep trying.
      if (!failing) io.err(`scheduler: a pass failed, retrying: ${describeError(error)}`);
      failing = true;
    }
    const signal = await stop.within(pause);
    if (signal !== undefined) return signal;
  }
}

function describePass(pass: DelayedRelease): string {
  const byQueue = Object.entries(pass.released).map(([queue, n]) => `${queue} ${n}`);
  const next = pass.nextDueInMs === null ? 'none waiting' : `next due in ${pass.nextDueInMs} ms`;
  return `released ${pass.total} delayed message${pass.total === 1 ? '' : 's'}${
    byQueue.length > 0 ? ` (${byQueue.join(', ')})` : ''
  }; ${pass.queues.length} queue${pass.queues.length === 1 ? '' : 's'} looked at; ${next}`;
}

function describeError(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
}

interface StopSignal {
  /** Resolves with the signal if one came (now or within `ms`), else undefined after `ms`. */
  within(ms: number): Promise<NodeJS.Signals | undefined>;
  dispose(): void;
}

/** The first SIGINT or SIGTERM, waited for in slices between passes. */
function stopSignal(): StopSignal {
  let received: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received = signal;
    dispose();
    wake?.();
  };
  const dispose = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    dispose,
    within: (ms) =>
      new Promise((resolve) => {
        if (received !== undefined) return resolve(received);
        const timer = setTimeout(() => {
          wake = undefined;
          resolve(undefined);
        }, ms);
        wake = () => {
          clearTimeout(timer);
          resolve(received);
        };
      }),
  };
}
