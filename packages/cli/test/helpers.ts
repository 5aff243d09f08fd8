import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Transport } from '@conveyor/core';

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

/**
 * Runs `node dist/bin.js ...` to completion. It is killed after `killAfterMs` (default 30 s), so a
 * hung command fails its test instead of the whole run; slow brokers (Kafka's group joins) raise it.
 */
export function runBin(
  args: readonly string[],
  options: BinOptions & { killAfterMs?: number } = {},
): Promise<BinResult> {
  const running = startBin(args, options);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), options.killAfterMs ?? 30_000);
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

/** The broker packages of this workspace a test project can have installed. */
export type BrokerPackage = 'redis' | 'amqp' | 'sqs' | 'kafka';

/**
 * A user's project folder with broker packages installed (links to the workspace's), as a real
 * project has them: the CLI finds broker packages from its working directory, not from its own.
 */
export function appWithBrokers(names: readonly BrokerPackage[] = ['redis', 'amqp']): string {
  const app = mkdtempSync(join(tmpdir(), 'conveyor-cli-app-'));
  mkdirSync(join(app, 'node_modules', '@conveyor'), { recursive: true });
  for (const name of names) {
    const target = fileURLToPath(new URL(`../../${name}`, import.meta.url));
    symlinkSync(target, join(app, 'node_modules', '@conveyor', name), 'dir');
  }
  return app;
}

/**
 * An unconnected transport for `url`, from the broker package installed in `app`: the same code the
 * CLI run in `app` uses, without relying on how this test process resolves packages.
 */
export async function transportInApp(app: string, pkg: BrokerPackage, url: string): Promise<Transport> {
  const resolved = createRequire(join(app, 'package.json')).resolve(`@conveyor/${pkg}`);
  const mod = (await import(pathToFileURL(resolved).href)) as {
    createTransportFromUrl(url: string): Transport;
  };
  return mod.createTransportFromUrl(url);
}

/** What one `conveyor send` printed, and when it ran (for windows bracketed by the send itself). */
export interface SentByCli {
  id: string;
  /** Date.now() just before the process was started. */
  startedAt: number;
  /** Date.now() just after it exited. */
  endedAt: number;
}

/** Runs `conveyor send ...args` in `cwd`; rejects with its output unless it exits 0 printing a task id. */
export async function sendWithCli(args: readonly string[], cwd: string): Promise<SentByCli> {
  const startedAt = Date.now();
  const result = await runBin(['send', ...args], { cwd });
  const endedAt = Date.now();
  const id = result.stdout.trim();
  if (result.code !== 0 || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new Error(
      `conveyor send ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return { id, startedAt, endedAt };
}
