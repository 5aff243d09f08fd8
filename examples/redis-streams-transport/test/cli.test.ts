import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

/** The built `conveyor` bin of the CLI this package depends on, as users run it. */
const CLI = join(
  dirname(createRequire(import.meta.url).resolve('@conveyor/cli/package.json')),
  'dist/bin.js',
);
/** The package's own folder: `--require @conveyor-examples/redis-streams` resolves here, as in an app. */
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PREFIX = `cli-test-${randomUUID().slice(0, 8)}:`;
const BROKER = `redis+streams://127.0.0.1:6379/11?keyPrefix=${PREFIX}`;
const REQUIRE = ['--require', '@conveyor-examples/redis-streams'];

interface Run {
  readonly child: ChildProcess;
  stdout(): string;
  /** Resolves once standard output contains `text`; rejects if the process ends first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `node …/bin.js ARGS` from the package folder, with a user's environment (no pnpm NODE_PATH, no CONVEYOR_*). */
function conveyor(args: readonly string[]): Run {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key !== 'NODE_PATH' && !key.startsWith('CONVEYOR_')) env[key] = value;
  }
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: PACKAGE_DIR,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const matches = (text: string | RegExp): boolean =>
    typeof text === 'string' ? stdout.includes(text) : text.test(stdout);
  return {
    child,
    stdout: () => stdout,
    exited,
    async waitFor(text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!matches(text)) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`no ${String(text)} in the output\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

afterAll(async () => {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, db: 11 });
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('the conveyor CLI on redis+streams://, a scheme it learns from --require', () => {
  it('worker runs what send sends; a task it does not know is dead-lettered; inspect counts it', async () => {
    const worker = conveyor([
      'worker',
      ...REQUIRE,
      '--broker',
      BROKER,
      '--tasks',
      './test/fixtures/tasks.mjs',
    ]);
    try {
      await worker.waitFor('ready:');
      expect(worker.stdout()).toContain('imported (--require): @conveyor-examples/redis-streams');
      expect(worker.stdout()).toContain('(redis-streams transport)');

      for (const [a, b] of [
        [1, 10],
        [2, 20],
        [3, 30],
      ]) {
        const sent = await conveyor([
          'send',
          'example.add',
          ...REQUIRE,
          '--broker',
          BROKER,
          '--args',
          `[${a}, ${b}]`,
        ]).exited;
        expect(sent.code, sent.stderr).toBe(0);
      }
      const unknown = await conveyor(['send', 'example.nope', ...REQUIRE, '--broker', BROKER]).exited;
      expect(unknown.code, unknown.stderr).toBe(0);

      for (const sum of [11, 22, 33])
        await worker.waitFor(
          new RegExp(`task example\\.add\\[[0-9a-f-]+\\] succeeded in [\\d.]+ ms: ${sum}$`, 'm'),
        );
      await worker.waitFor(/task example\.nope\[[0-9a-f-]+\] dead-lettered from celery/);

      const inspect = await conveyor(['inspect', ...REQUIRE, '--broker', BROKER, '--json']).exited;
      expect(inspect.code, inspect.stderr).toBe(0);
      const report = JSON.parse(inspect.stdout) as { transport: string; queues: unknown[] };
      expect(report.transport).toBe('redis-streams');
      expect(report.queues).toEqual([
        { queue: 'celery', ready: 0, inFlight: 0, delayed: 0, deadLettered: 1 },
      ]);
    } finally {
      worker.child.kill('SIGTERM');
    }
    const stopped = await worker.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/worker stopped: \d+ finished, 0 given back to the broker/);
  });

  it('conformance --harness takes the hooks the vitest file uses: publishRaw (DLQ-02) and upstream (RCN-*)', async () => {
    const run = await conveyor([
      'conformance',
      '--harness',
      '@conveyor-examples/redis-streams/harness',
      '--broker',
      BROKER,
      '--only',
      'MAN-01,DLQ-02,RCN-01,RCN-02',
    ]).exited;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('4 passed, 0 failed, 0 skipped');
    expect(run.stderr).toMatch(/^ {2}pass {2}DLQ-02 /m);
    expect(run.stderr).toMatch(/^ {2}pass {2}RCN-01 /m);
  });
});
