import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STALLED_EXIT_CODE, START_FAILED_EXIT_CODE, type WorkerProcessSettings } from './worker-settings.js';

/** The built worker entry (from src/ under vitest and from dist/ alike). */
const WORKER_MAIN = fileURLToPath(new URL('../dist/worker-main.js', import.meta.url));
/** A worker that died on its own (not killed by the runner) is started again after this. */
const RESPAWN_DELAY_MS = 500;

interface Slot {
  child: ChildProcess | undefined;
  incarnation: number;
  /** Set while the runner kills this slot on purpose, so that the exit is not respawned. */
  killing: boolean;
}

/**
 * The worker processes of a run, one per slot: the runner SIGKILLs a slot and starts it again; a
 * worker that exits on its own is counted and respawned, as a supervisor (systemd, Kubernetes)
 * would. Each incarnation writes its own completion file in `dir`.
 */
export class WorkerPool {
  readonly #slots: Slot[];
  readonly #base: Omit<WorkerProcessSettings, 'completionFile' | 'label'>;
  readonly #dir: string;
  #closing = false;
  /** Worker exits the runner did not cause, with their code or signal. */
  readonly unexpectedExits: string[] = [];
  /** Workers that stopped consuming on their own (their event loop ran empty): a finding. */
  stalled = 0;
  /** Workers that could not start (the broker was down) and were started again. */
  failedStarts = 0;
  /** `error ...` and `rejected ...` lines the workers printed. */
  readonly reports: string[] = [];

  constructor(base: Omit<WorkerProcessSettings, 'completionFile' | 'label'>, dir: string, workers: number) {
    this.#base = base;
    this.#dir = dir;
    this.#slots = Array.from({ length: workers }, () => ({
      child: undefined,
      incarnation: 0,
      killing: false,
    }));
  }

  /** Starts every slot; resolves once each worker consumes. */
  async startAll(): Promise<void> {
    await Promise.all(this.#slots.map((_, i) => this.#spawn(i)));
  }

  /** SIGKILLs the worker of `slot` and resolves once it is gone. */
  async kill(slot: number): Promise<void> {
    const state = this.#slots[slot]!;
    const child = state.child;
    if (!child) return;
    state.killing = true;
    child.kill('SIGKILL');
    await exited(child);
    state.killing = false;
  }

  /** Starts the worker of `slot` again (a new incarnation); resolves without waiting for it to consume. */
  restart(slot: number): void {
    void this.#spawn(slot).catch(() => undefined);
  }

  /** Stops every worker: SIGTERM (a clean stop), SIGKILL after 5 s. */
  async stopAll(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const child = slot.child;
        if (!child) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited(child);
        clearTimeout(timer);
      }),
    );
  }

  #spawn(slot: number): Promise<void> {
    const state = this.#slots[slot]!;
    state.incarnation += 1;
    const label = `w${slot}.${state.incarnation}`;
    const settings: WorkerProcessSettings = {
      ...this.#base,
      label,
      completionFile: join(this.#dir, `${label}.log`),
    };
    const child = spawn(process.execPath, [WORKER_MAIN, JSON.stringify(settings)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    state.child = child;
    // Everything the process prints, kept beside its completions for a post-mortem.
    const transcript = createWriteStream(join(this.#dir, `${label}.out`));
    child.stdout!.pipe(transcript);
    child.stderr!.pipe(transcript);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      let pending = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (line === 'ready') resolve();
          else if (line.startsWith('error ') || line.startsWith('rejected '))
            this.reports.push(`${label} ${line}`);
        }
      });
      child.once('exit', (code, signal) => reject(new Error(`worker ${label} exited (${code ?? signal})`)));
    });
    child.once('exit', (code, signal) => {
      if (state.child === child) state.child = undefined;
      if (state.killing || this.#closing) return;
      if (code === START_FAILED_EXIT_CODE) this.failedStarts += 1;
      else {
        if (code === STALLED_EXIT_CODE) this.stalled += 1;
        const why =
          code === STALLED_EXIT_CODE
            ? 'stopped consuming (nothing left running in the process)'
            : (/^\w*Error\b.*$/m.exec(stderr)?.[0] ?? stderr.trim().split('\n').slice(-3).join(' | '));
        this.unexpectedExits.push(`${label} exited (${code ?? signal})${why ? `: ${why}` : ''}`);
      }
      setTimeout(() => {
        if (!this.#closing && state.child === undefined) void this.#spawn(slot).catch(() => undefined);
      }, RESPAWN_DELAY_MS);
    });
    return ready;
  }
}

/** Resolves once the child has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
