/**
 * The program of one isolated runner (a worker thread or a child process): imports the tasks
 * module, then runs one task at a time as the worker asks and answers with its result or error.
 * The worker owns the lifecycle: it aborts a handler's signal, and terminates or SIGKILLs the runner
 * at the hard time limit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Task } from '../task.js';
import type { TaskContext } from '../task-context.js';
import type { FromRunner, RunnerContext, RunnerData, ToRunner } from './protocol.js';
import { tasksOfModule } from './tasks-of-module.js';
import { reviveError, toWireError } from './wire-error.js';

interface Channel {
  send(message: FromRunner): void;
  onMessage(listener: (message: ToRunner) => void): void;
}

const channel: Channel = parentPort !== null ? threadChannel() : processChannel();
const running = new Map<number, AbortController>();

function threadChannel(): Channel {
  const port = parentPort!;
  return {
    send: (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', listener),
  };
}

function processChannel(): Channel {
  // Ctrl+C reaches the whole process group: the worker decides when a running handler stops
  // (after the graceful drain), not the terminal.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // The worker is gone (crashed, killed): nothing is left to answer to.
  process.on('disconnect', () => process.exit(0));
  process.on('uncaughtException', (error) => {
    process.send?.({ type: 'fatal', error: toWireError(error) } satisfies FromRunner, () => process.exit(1));
  });
  return {
    send: (message) => {
      process.send!(message);
    },
    onMessage: (listener) => process.on('message', listener as (message: unknown) => void),
  };
}

function moduleHref(): string {
  const data = (parentPort !== null ? workerData : JSON.parse(process.argv[2] ?? '{}')) as RunnerData;
  return data.tasksModule;
}

async function main(): Promise<void> {
  const href = moduleHref();
  let tasks: Map<string, Task>;
  try {
    const namespace = (await import(href)) as Record<string, unknown>;
    const found = tasksOfModule(namespace, href);
    if (found.problem !== undefined) throw new Error(found.problem);
    tasks = new Map(found.tasks.map((task) => [task.name, task]));
  } catch (error) {
    channel.send({ type: 'load-failed', error: toWireError(error) });
    if (parentPort === null) process.disconnect?.();
    return;
  }
  channel.onMessage((message) => {
    if (message.type === 'abort') running.get(message.job)?.abort(reviveError(message.reason));
    else void run(tasks, message);
  });
  channel.send({ type: 'ready', tasks: [...tasks.keys()] });
}

async function run(tasks: Map<string, Task>, request: Extract<ToRunner, { type: 'run' }>): Promise<void> {
  const { job } = request;
  const controller = new AbortController();
  running.set(job, controller);
  let reply: FromRunner;
  try {
    const task = tasks.get(request.task);
    if (task === undefined)
      throw new Error(`the tasks module does not export a task named "${request.task}"`);
    const result: unknown = await task.handler(request.args, contextOf(request.context, controller.signal));
    reply = { type: 'done', job, ok: true, result };
  } catch (error) {
    reply = { type: 'done', job, ok: false, error: toWireError(error) };
  } finally {
    running.delete(job);
  }
  try {
    channel.send(reply);
  } catch (error) {
    // A result that structured clone cannot carry (a function, a class instance with a socket...).
    channel.send({
      type: 'done',
      job,
      ok: false,
      error: toWireError(new TypeError(`the task's result cannot be sent to the worker: ${describe(error)}`)),
    });
  }
}

function contextOf(context: RunnerContext, signal: AbortSignal): TaskContext {
  return Object.freeze({ ...context, signal });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

void main();
