import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasStack, lines, runBin, startBin } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('help', () => {
  it('conveyor --help lists the commands and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await runBin([flag]);
      expect(result.code).toBe(0);
      for (const command of ['worker', 'send', 'inspect', 'conformance'])
        expect(result.stdout).toContain(command);
    }
  });

  it('conveyor with no command prints the usage and exits 2', async () => {
    const result = await runBin([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: conveyor <command>');
  });

  const options: Record<string, string[]> = {
    worker: [
      '--broker',
      '--tasks',
      '--concurrency',
      '--queues',
      '--shutdown-deadline',
      '--require',
      '--help',
    ],
    send: ['--broker', '--args', '--kwargs', '--queue', '--countdown', '--priority', '--require', '--help'],
    inspect: ['--broker', '--queue', '--json', '--require', '--help'],
    conformance: ['--broker', '--harness', '--report', '--only', '--require', '--help'],
  };
  for (const [command, names] of Object.entries(options)) {
    it(`conveyor ${command} --help and -h exit 0 and name every option`, async () => {
      for (const flag of ['--help', '-h']) {
        const result = await runBin([command, flag]);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(`Usage: conveyor ${command}`);
        for (const name of names) expect(result.stdout).toContain(name);
        expect(result.stderr).toBe('');
      }
    });
  }

  it('conveyor help <command> is the same as <command> --help', async () => {
    const viaHelp = await runBin(['help', 'send']);
    const viaFlag = await runBin(['send', '--help']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
  });

  it('--help wins over other mistakes on the line', async () => {
    const result = await runBin(['inspect', '--bogus', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: conveyor inspect');
  });

  it('--version prints the package version', async () => {
    const result = await runBin(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('usage errors exit 2 with a short message and a hint', () => {
  it('unknown command, with a suggestion', async () => {
    const result = await runBin(['wokrer']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'conveyor: unknown command "wokrer" (did you mean "worker"?)',
      'Run "conveyor --help" for usage.',
    ]);
  });

  it('unknown option, named, with a suggestion', async () => {
    const result = await runBin(['inspect', '--borker', 'memory://']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'conveyor: unknown option --borker for "conveyor inspect" (did you mean --broker?)',
      'Run "conveyor inspect --help" for usage.',
    ]);
  });

  it('an option before the command', async () => {
    const result = await runBin(['--broker', 'memory://', 'inspect']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option --broker');
  });

  it('a missing value, and a missing required option', async () => {
    const noValue = await runBin(['inspect', '--broker']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('option --broker needs a value');
    const missing = await runBin(['worker', '--broker', 'memory://']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing required option --tasks');
  });

  it('an invalid integer names the option', async () => {
    const result = await runBin([
      'worker',
      '--broker',
      'memory://',
      '--tasks',
      'tasks.mjs',
      '--concurrency',
      'lots',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency must be an integer >= 1, got "lots"');
  });
});

describe('broker errors exit 2 with one line and no stack trace', () => {
  const commands: Record<string, string[]> = {
    inspect: ['inspect'],
    send: ['send', 'tasks.add'],
    worker: ['worker', '--tasks', 'tasks.mjs'],
    conformance: ['conformance'],
  };

  for (const [name, args] of Object.entries(commands)) {
    it(`${name}: a URL with an unknown scheme (ftp://x)`, async () => {
      const result = await runBin([...args, '--broker', 'ftp://x']);
      expect(result.code).toBe(2);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(/^conveyor: invalid broker URL "ftp:\/\/x": unknown scheme "ftp:"/);
      expect(hasStack(result.stderr)).toBe(false);
    });

    it(`${name}: redis:// without @conveyor/redis installed says which package to install`, async () => {
      const result = await runBin([...args, '--broker', 'redis://127.0.0.1:6379']);
      expect(result.code).toBe(2);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toContain('@conveyor/redis');
      expect(result.stderr).toMatch(/not installed/);
      expect(result.stderr).toMatch(/install @conveyor\/redis/);
      expect(hasStack(result.stderr)).toBe(false);
    });
  }

  it('an invalid option of the transport (memory:// URL parameter) is a ConveyorError too', async () => {
    const result = await runBin(['inspect', '--broker', 'memory://?bogus=1']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'conveyor: invalid option "bogus": unknown memory:// URL parameter',
    ]);
  });

  it('never prints a broker password', async () => {
    const result = await runBin(['inspect', '--broker', 'redis//user:s3cret@localhost:6379']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('redis//user:***@localhost:6379');
    expect(result.stderr).not.toContain('s3cret');
  });

  it('reads the broker URL from CONVEYOR_BROKER_URL when --broker is absent', async () => {
    const result = await runBin(['inspect'], { env: { CONVEYOR_BROKER_URL: 'memory://' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('broker  memory://');
  });
});

describe('unexpected errors exit 1', () => {
  it('prints the message without a stack trace', async () => {
    const result = await runBin(['worker', '--broker', 'memory://', '--tasks', 'broken-tasks.mjs']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'conveyor: unexpected error: cannot load tasks from broken-tasks.mjs: boom',
    );
    expect(result.stderr).toContain('CONVEYOR_DEBUG=1');
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('prints the stack trace with CONVEYOR_DEBUG=1', async () => {
    const result = await runBin(['worker', '--broker', 'memory://', '--tasks', 'broken-tasks.mjs'], {
      env: { CONVEYOR_DEBUG: '1' },
    });
    expect(result.code).toBe(1);
    expect(hasStack(result.stderr)).toBe(true);
  });
});

describe('conveyor worker', () => {
  it('loads a tasks module, runs on memory:// and stops on SIGTERM with exit code 0', async () => {
    const worker = startBin(['worker', '--broker', 'memory://', '--tasks', './tasks.mjs']);
    await worker.waitForOutput('ready:');
    // Named exports and the default array, each task once; non-task exports are ignored.
    expect(worker.stdout()).toContain('3 tasks from');
    expect(worker.stdout()).toContain('(tasks.add, tasks.echo, tasks.multiply)');
    worker.child.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('received SIGTERM: stopping');
    expect(result.stdout).toContain('worker stopped');
    expect(result.stdout).toContain('connection closed');
    expect(result.stderr).toBe('');
  });

  it('stops on SIGINT too, and honours --concurrency and --queues', async () => {
    const worker = startBin([
      'worker',
      '-b',
      'memory://',
      '-t',
      'tasks.mjs',
      '-c',
      '3',
      '-Q',
      'a,b',
      '-Q',
      'c',
    ]);
    await worker.waitForOutput('ready:');
    expect(worker.stdout()).toContain('consuming a, b, c with concurrency 3');
    worker.child.kill('SIGINT');
    const result = await worker.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('received SIGINT');
  });

  it('logs one line per task outcome: success, retry, dead-letter', async () => {
    const worker = startBin(['worker', '--broker', 'memory://', '--tasks', 'self-feeding-tasks.mjs']);
    await worker.waitForOutput('"ok on attempt 2"');
    await worker.waitForOutput('dead-lettered from celery');
    worker.child.kill('SIGTERM');
    const { code, stdout } = await worker.exited;
    expect(code).toBe(0);
    expect(stdout).toMatch(/INFO {2}task fixture\.add\[[0-9a-f-]{36}\] succeeded in [\d.]+ ms: 5$/m);
    expect(stdout).toMatch(
      /WARN {2}task fixture\.flaky\[[0-9a-f-]{36}\] failed \(Error: first attempt fails\); retry 1 in 10 ms$/m,
    );
    expect(stdout).toMatch(
      /WARN {2}task fixture\.doomed\[[0-9a-f-]{36}\] dead-lettered from celery: permanent failure/m,
    );
  });

  it('lets a running task finish before exiting on SIGTERM', async () => {
    const worker = startBin(['worker', '--broker', 'memory://', '--tasks', 'slow-tasks.mjs']);
    await worker.waitForOutput('slow task started');
    worker.child.kill('SIGTERM');
    const { code, stdout } = await worker.exited;
    expect(code).toBe(0);
    expect(stdout).toContain('received SIGTERM: stopping (1 task running');
    expect(stdout).toContain('succeeded in');
    expect(stdout).toContain('worker stopped: 1 finished, 0 given back to the broker');
  });

  it('gives a task that outlives --shutdown-deadline back to the broker, still exiting 0', async () => {
    const worker = startBin([
      'worker',
      '-b',
      'memory://',
      '-t',
      'slow-tasks.mjs',
      '--shutdown-deadline',
      '50',
    ]);
    await worker.waitForOutput('slow task started');
    worker.child.kill('SIGTERM');
    const { code, stdout } = await worker.exited;
    expect(code).toBe(0);
    expect(stdout).toContain('worker stopped: 0 finished, 1 given back to the broker');
  });

  it('exits at once on a second signal', async () => {
    const worker = startBin(['worker', '--broker', 'memory://', '--tasks', 'slow-tasks.mjs']);
    await worker.waitForOutput('slow task started');
    worker.child.kill('SIGINT');
    await worker.waitForOutput('received SIGINT: stopping');
    worker.child.kill('SIGINT');
    const { code, stdout } = await worker.exited;
    expect(code).toBe(130);
    expect(stdout).toContain('received SIGINT again: exiting now');
  });

  it('prints the broker URL without its password', async () => {
    const worker = startBin([
      'worker',
      '--broker',
      'memory://admin:s3cret@redact-test',
      '--tasks',
      'tasks.mjs',
    ]);
    await worker.waitForOutput('ready:');
    worker.child.kill('SIGTERM');
    const { code, stdout } = await worker.exited;
    expect(code).toBe(0);
    expect(stdout).toContain('memory://admin:***@redact-test');
    expect(stdout).not.toContain('s3cret');
  });

  it('refuses a missing tasks file and a module without tasks (exit 2)', async () => {
    const missing = await runBin(['worker', '--broker', 'memory://', '--tasks', 'nope.mjs']);
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual(['conveyor: --tasks: no such file: nope.mjs']);
    const empty = await runBin(['worker', '--broker', 'memory://', '--tasks', 'no-tasks.mjs']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no tasks found in no-tasks.mjs');
  });
});

describe('conveyor send', () => {
  // What a worker receives (args, kwargs, queue, countdown, priority) is checked on real brokers in
  // send-delivery.test.ts; memory:// dies with the process, so here only what the CLI itself prints.
  it('on memory:// prints the task id and warns that the message dies with the process', async () => {
    const result = await runBin([
      'send',
      'tasks.add',
      '--broker',
      'memory://',
      '--args',
      '[1, 2]',
      '--kwargs',
      '{"x": 1}',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(UUID);
    expect(result.stderr).toContain('memory:// lives inside this process');
  });

  it('invalid JSON in --args exits 2 naming --args', async () => {
    const result = await runBin(['send', 'tasks.add', '--broker', 'memory://', '--args', '[1, 2']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toMatch(/^conveyor: --args is not valid JSON/);
    expect(hasStack(result.stderr)).toBe(false);
    expect(result.stdout).toBe('');
  });

  it('--args that is not an array and --kwargs that is not an object are refused', async () => {
    const args = await runBin(['send', 'tasks.add', '--broker', 'memory://', '--args', '{"a": 1}']);
    expect(args.code).toBe(2);
    expect(args.stderr).toContain('--args must be a JSON array');
    const kwargs = await runBin(['send', 'tasks.add', '--broker', 'memory://', '--kwargs', '[1]']);
    expect(kwargs.code).toBe(2);
    expect(kwargs.stderr).toContain('--kwargs must be a JSON object');
  });

  it('a priority the transport does not have is a ConveyorError (exit 2)', async () => {
    const result = await runBin(['send', 'tasks.add', '--broker', 'memory://', '--priority', '99']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'conveyor: invalid option "priority": must be an integer from 0 to 9',
    ]);
  });

  it('needs the task name', async () => {
    const result = await runBin(['send', '--broker', 'memory://']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing the task name');
  });
});

describe('conveyor inspect', () => {
  it('prints health and one line per queue: ready, in flight, delayed, dead-lettered', async () => {
    const result = await runBin(['inspect', '--broker', 'memory://']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('health  ok');
    expect(result.stdout).toMatch(/^queue\s+ready\s+in flight\s+delayed\s+dead-lettered$/m);
    expect(result.stdout).toMatch(/^celery\s+0\s+0\s+0\s+0$/m);
  });

  it('takes several queues (repeated or comma-separated) and prints JSON with --json', async () => {
    const result = await runBin(['inspect', '--broker', 'memory://', '--queue', 'a,b', '-q', 'c', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { health: { ok: boolean }; queues: { queue: string }[] };
    expect(report.health.ok).toBe(true);
    expect(report.queues.map((q) => q.queue)).toEqual(['a', 'b', 'c']);
    expect(report.queues[0]).toEqual({ queue: 'a', ready: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
  });
});

describe('conveyor conformance', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conveyor-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs selected cases against memory://, prints the report and writes the JSON', async () => {
    const result = await runBin(
      [
        'conformance',
        '--broker',
        'memory://',
        '--only',
        'MAN-01,LIF-01',
        '--only',
        'DLQ-02',
        '--report',
        'out/report.json',
      ],
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Conformance of memory (memory://)');
    expect(result.stdout).toContain('3 passed, 0 failed, 0 skipped');
    expect(result.stderr).toMatch(/^ {2}pass {2}MAN-01 /m);
    const report = JSON.parse(await readFile(join(dir, 'out/report.json'), 'utf8')) as {
      transport: string;
      cases: { id: string; status: string }[];
      summary: { passed: number; failed: number };
    };
    expect(report.cases.map((c) => c.id).sort()).toEqual(['DLQ-02', 'LIF-01', 'MAN-01']);
    expect(report.summary).toMatchObject({ passed: 3, failed: 0 });
  });

  it('refuses an unknown case id (exit 2)', async () => {
    const result = await runBin(['conformance', '--broker', 'memory://', '--only', 'NOPE-01']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--only: unknown case NOPE-01');
  });
});
