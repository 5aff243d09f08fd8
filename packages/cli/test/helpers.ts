import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built entry point, as users run it. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
/** Folder of the fixture task modules. */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** What a finished `conveyor` process left. */
export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface BinOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** The test process's environment without CONVEYOR_* variables (turbo passes them through) or NODE_PATH. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CONVEYOR_')) env[key] = value;
  // pnpm's bin shims put the workspace's hidden package store on NODE_PATH; a user's shell has no
  // such thing, and with it every @conveyor/* package would look installed.
  delete env.NODE_PATH;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** A running `node dist/bin.js ...`. */
export interface RunningBin {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once standard output contains `text`; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<BinResult>;
}

export function startBin(args: readonly string[], options: BinOptions = {}): RunningBin {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? FIXTURES,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<BinResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForOutput(text, timeoutMs = 15_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (stdout.includes(text)) done(resolve);
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(() =>
              reject(new Error(`exited before printing "${text}"\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
            );
          }
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(new Error(`no "${text}" after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
            ),
          timeoutMs,
        );
        const done = (finish: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          finish();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs `node dist/bin.js ...` to completion. */
export function runBin(args: readonly string[], options: BinOptions = {}): Promise<BinResult> {
  const running = startBin(args, options);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
  return running.exited.finally(() => clearTimeout(timer));
}

/** Lines of a text, without the empty last one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, index, all) => line !== '' || index < all.length - 1);
}

/** True when the text contains a stack frame line. */
export function hasStack(text: string): boolean {
  return /^\s+at /m.test(text);
}
