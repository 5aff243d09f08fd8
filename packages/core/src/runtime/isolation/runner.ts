import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { HandlerCrashedError } from './handler-crashed-error.js';
import type { ResolvedIsolation } from './isolation-options.js';
import type { FromRunner, RunnerContext, RunnerData, ToRunner } from './protocol.js';
import { reviveError, toWireError, type WireError } from './wire-error.js';

/** The program every runner runs; beside this module in dist. */
const ENTRY = new URL('./runner-entry.js', import.meta.url);

/** One job a runner is asked to do. */
export interface RunnerJob {
  task: string;
  args: unknown[];
  context: RunnerContext;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The worker's side of one runner: a thread or a child process running runner-entry, one job at a
 * time. It reports its own death to the job it was running as a HandlerCrashedError; once dead or
 * killed it is never used again.
 */
export class Runner {
  readonly #isolation: ResolvedIsolation;
  readonly #thread: Thread | undefined;
  readonly #child: ChildProcess | undefined;
  #job = 0;
  #pending: { job: number; handlers: Pending } | undefined;
  #ready: Pending | undefined;
  /** Resolves with the task names the module exports; rejects when it cannot load them. */
  readonly ready: Promise<string[]>;
  /** Set once it exited, crashed or was killed: the pool drops it. */
  #gone = false;
  /** A process runner's report of the uncaught exception it is exiting on. */
  #fatal: WireError | undefined;
  readonly #onGone: (runner: Runner) => void;
  /** Resolves once the thread or process has exited. */
  readonly #exited: Promise<void>;
  #markExited: () => void = () => {};

  /** Spawns the runner; `ready` resolves once it has loaded the tasks module. */
  constructor(isolation: ResolvedIsolation, onGone: (runner: Runner) => void) {
    this.#isolation = isolation;
    this.#onGone = onGone;
    this.#exited = new Promise<void>((resolve) => {
      this.#markExited = resolve;
    });
    this.ready = new Promise<string[]>((resolve, reject) => {
      this.#ready = { resolve: (names) => resolve(names as string[]), reject };
    });
    // A runner that dies before anyone waits for it must not be an unhandled rejection.
    this.ready.catch(() => {});
    const data: RunnerData = { tasksModule: isolation.tasksModule.href };
    const heap = isolation.maxOldGenerationSizeMb;
    if (isolation.mode === 'thread') {
      const thread = new Thread(ENTRY, {
        workerData: data,
        ...(heap !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: heap } } : {}),
      });
      thread.on('message', (message: FromRunner) => this.#onMessage(message));
      // An uncaught exception or the heap limit: 'exit' follows with code 1.
      thread.on('error', (error) => {
        this.#fatal = toWireError(error);
      });
      thread.on('exit', (code) => this.#onExit(code, null));
      this.#thread = thread;
    } else {
      const child = fork(fileURLToPath(ENTRY), [JSON.stringify(data)], {
        serialization: 'advanced',
        execArgv: [...process.execArgv, ...(heap !== undefined ? [`--max-old-space-size=${heap}`] : [])],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (message) => this.#onMessage(message as FromRunner));
      child.on('error', (error) => {
        this.#fatal ??= toWireError(error);
      });
      child.on('exit', (code, signal) => this.#onExit(code, signal));
      this.#child = child;
    }
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** Runs one job; its promise settles with the handler's result or error, or the runner's crash. */
  run(job: RunnerJob): Promise<unknown> {
    if (this.#gone) return Promise.reject(this.#crash(null, null));
    const id = ++this.#job;
    return new Promise<unknown>((resolve, reject) => {
      this.#pending = { job: id, handlers: { resolve, reject } };
      this.#hold(true);
      this.#send({ type: 'run', job: id, ...job });
    });
  }

  /** Aborts the running handler's signal with `reason` (it runs on if it ignores its signal). */
  abort(reason: unknown): void {
    if (this.#pending !== undefined && !this.#gone) {
      this.#send({ type: 'abort', job: this.#pending.job, reason: toWireError(reason) });
    }
  }

  /**
   * Ends the runner whatever it is doing: terminate() for a thread (stops JavaScript, even a
   * `while (true) {}`), SIGKILL for a process. The running job, if any, is rejected with `reason`.
   */
  kill(reason: unknown): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#ready?.reject(reason);
    this.#ready = undefined;
    this.#markGone();
    pending?.handlers.reject(reason);
    return this.#exited;
  }

  #send(message: ToRunner): void {
    try {
      if (this.#thread !== undefined) this.#thread.postMessage(message);
      else this.#child?.send(message);
    } catch (error) {
      // Arguments that cannot be cloned fail this job only; the runner is fine.
      const pending = this.#pending;
      this.#pending = undefined;
      this.#hold(false);
      pending?.handlers.reject(error);
    }
  }

  #onMessage(message: FromRunner): void {
    switch (message.type) {
      case 'ready':
        this.#ready?.resolve(message.tasks);
        this.#ready = undefined;
        this.#hold(false);
        return;
      case 'load-failed':
        this.#ready?.reject(reviveError(message.error));
        this.#ready = undefined;
        return;
      case 'fatal':
        this.#fatal = message.error;
        return;
      case 'done': {
        const pending = this.#pending;
        if (pending === undefined || pending.job !== message.job) return;
        this.#pending = undefined;
        this.#hold(false);
        if (message.ok) pending.handlers.resolve(message.result);
        else pending.handlers.reject(reviveError(message.error));
        return;
      }
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#markExited();
    const wasGone = this.#gone;
    this.#markGone();
    if (wasGone) return; // killed on purpose: its job, if any, was already settled
    const crash = this.#crash(code, signal);
    this.#ready?.reject(crash);
    this.#ready = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.handlers.reject(crash);
  }

  #crash(code: number | null, signal: NodeJS.Signals | null): HandlerCrashedError {
    const fatal = this.#fatal;
    const errorCode = typeof fatal?.fields.code === 'string' ? ` [${fatal.fields.code}]` : '';
    const detail = fatal === undefined ? undefined : `${fatal.name}${errorCode}: ${fatal.message}`;
    const error = new HandlerCrashedError(this.#isolation.mode, { exitCode: code, signal, detail });
    if (fatal !== undefined) Object.defineProperty(error, 'cause', { value: reviveError(fatal) });
    return error;
  }

  /**
   * A runner loading its module or running a job keeps the application alive, as the handler would
   * in-process; an idle one does not (it would keep a stopped application from exiting).
   */
  #hold(busy: boolean): void {
    const handle = this.#thread ?? this.#child;
    if (busy) handle?.ref();
    else handle?.unref();
    if (busy) this.#child?.channel?.ref();
    else this.#child?.channel?.unref();
  }

  #markGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#onGone(this);
    // Held until it has exited, so that whoever awaits kill() sees it go.
    this.#hold(true);
    // Killed on purpose or dead already: either way it must not outlive the pool.
    if (this.#thread !== undefined) void this.#thread.terminate();
    else if (this.#child?.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
