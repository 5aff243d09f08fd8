import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, hasStack, lines, runBin, startBin } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('--require serves a URL scheme Conveyor does not ship', () => {
  it('without it the scheme is unknown, and the error says how to add one', async () => {
    const result = await runBin(['inspect', '--broker', 'fixture+mem://a']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain('unknown scheme "fixture+mem:"');
    expect(result.stderr).toContain('--require');
  });

  it('inspect: a module given by path registers its scheme before the URL is checked', async () => {
    const result = await runBin([
      'inspect',
      '--require',
      './register-scheme.mjs',
      '--broker',
      'fixture+mem://a',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('broker  fixture+mem://a (memory transport)');
    expect(result.stdout).toMatch(/^celery\s+0\s+0\s+0\s+0$/m);
  });

  it('send: prints the task id on the registered scheme', async () => {
    const result = await runBin([
      'send',
      'tasks.add',
      '--require',
      './register-scheme.mjs',
      '--broker',
      'fixture+mem://b',
      '--args',
      '[1, 2]',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(UUID);
  });

  it('worker: logs what it imported and runs on the registered scheme', async () => {
    const worker = startBin([
      'worker',
      '--require',
      './register-scheme.mjs',
      '--broker',
      'fixture+mem://c',
      '--tasks',
      'tasks.mjs',
    ]);
    await worker.waitForOutput('ready:');
    expect(worker.stdout()).toContain('imported (--require): ./register-scheme.mjs');
    expect(worker.stdout()).toContain('connecting to fixture+mem://c (memory transport)');
    worker.child.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(0);
  });

  it('conformance: runs the suite on the registered scheme', async () => {
    const result = await runBin([
      'conformance',
      '--require',
      './register-scheme.mjs',
      '--broker',
      'fixture+mem://d',
      '--only',
      'MAN-01,LIF-01',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Conformance of memory (fixture+mem://d)');
    expect(result.stdout).toContain('2 passed, 0 failed, 0 skipped');
  });

  it('a package name is resolved from the working directory', async () => {
    const result = await runBin(
      ['inspect', '--require', 'fixture-conveyor-plugin', '--broker', 'fixture+pkg://e'],
      {
        cwd: join(FIXTURES, 'plugin-project'),
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('broker  fixture+pkg://e (memory transport)');
  });

  it('falls back to $CONVEYOR_REQUIRE (comma-separated) when --require is absent', async () => {
    const result = await runBin(['inspect', '--broker', 'fixture+mem://f'], {
      env: { CONVEYOR_REQUIRE: './tasks.mjs,./register-scheme.mjs' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('broker  fixture+mem://f (memory transport)');
  });

  it('a missing file, a missing package and a module that throws: exit 2, one line naming --require', async () => {
    const cases: [string, string][] = [
      ['./nope.mjs', 'conveyor: --require: no such file: nope.mjs'],
      [
        'no-such-conveyor-plugin',
        'conveyor: --require: cannot find the package no-such-conveyor-plugin from ',
      ],
      [
        './throwing-plugin.mjs',
        'conveyor: --require: cannot import ./throwing-plugin.mjs: Error: plugin exploded',
      ],
    ];
    for (const [specifier, message] of cases) {
      const result = await runBin(['inspect', '--require', specifier, '--broker', 'memory://']);
      expect(result.code, specifier).toBe(2);
      expect(lines(result.stderr), specifier).toHaveLength(1);
      expect(result.stderr.startsWith(message), result.stderr).toBe(true);
      expect(hasStack(result.stderr)).toBe(false);
    }
  });
});

describe('conformance --harness runs on the hooks a harness module exports', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conveyor-harness-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses its name, publishRaw, queueName and cleanup', async () => {
    const hookLog = join(dir, 'hooks.log');
    const result = await runBin(['conformance', '--harness', './harness.mjs', '--only', 'MAN-01,DLQ-02'], {
      env: { FIXTURE_HOOK_LOG: hookLog },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Conformance of memory via a harness module');
    expect(result.stdout).toContain('2 passed, 0 failed, 0 skipped');
    const hooks = lines(await readFile(hookLog, 'utf8'));
    // DLQ-02 wrote its malformed payload through the harness, on a queue named by queueName.
    expect(hooks).toContainEqual(expect.stringMatching(/^publishRaw hx-cvy-\S+-dlq02-q\d+ \d+$/));
    // Every case handed its queues to cleanup, DLQ-02's with the same prefix.
    expect(hooks).toContainEqual(expect.stringMatching(/^cleanup hx-cvy-\S+-dlq02-q\d+( |$)/));
    expect(hooks.filter((line) => line.startsWith('cleanup'))).toHaveLength(2);
  });

  it('a function export is called with --broker', async () => {
    const result = await runBin([
      'conformance',
      '--harness',
      './harness-factory.mjs',
      '--broker',
      'memory://factory',
      '--only',
      'MAN-01',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Conformance of factory harness on memory://factory');
  });

  it('refuses --broker for a harness object, and modules that export no harness (exit 2, one line)', async () => {
    const cases: [string[], string][] = [
      [
        ['--harness', './harness.mjs', '--broker', 'memory://'],
        'conveyor: --broker: the harness of ./harness.mjs is an object that opens its own transports',
      ],
      [
        ['--harness', './not-a-harness.mjs'],
        'conveyor: --harness: the harness of ./not-a-harness.mjs has no "createTransport" function',
      ],
      [['--harness', './tasks.mjs'], 'conveyor: --harness: the harness of ./tasks.mjs has no "name"'],
      [['--harness', './nope.mjs'], 'conveyor: --harness: no such file: nope.mjs'],
    ];
    for (const [args, message] of cases) {
      const result = await runBin(['conformance', ...args, '--only', 'MAN-01']);
      expect(result.code, args.join(' ')).toBe(2);
      expect(lines(result.stderr), args.join(' ')).toHaveLength(1);
      expect(result.stderr.startsWith(message), result.stderr).toBe(true);
    }
  });
});
