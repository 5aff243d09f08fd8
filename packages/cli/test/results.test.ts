import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appWithBrokers, FIXTURES, lines, type RunningBin, runBin, startBin } from './helpers.js';

// Database 13 of the local Redis is this file's: broker and results both.
const REDIS = 'redis://127.0.0.1:6379/13';

describe('results: conveyor worker --results and conveyor send --wait', () => {
  let app: string;
  let worker: RunningBin;
  const queue = `cli-results-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    app = appWithBrokers(['redis']);
    worker = startBin(
      ['worker', '-b', REDIS, '-r', REDIS, '-t', join(FIXTURES, 'result-tasks.mjs'), '-Q', queue],
      { cwd: app },
    );
    await worker.waitForOutput('ready:');
  }, 60_000);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
  });

  it('the worker says where results go', () => {
    expect(worker.stdout()).toContain(`results: stored in ${REDIS}`);
  });

  it('prints the id, then the result as JSON', async () => {
    const sent = await runBin(
      ['send', 'results.add', '-b', REDIS, '-r', REDIS, '-q', queue, '--args', '[2, 3]', '--wait'],
      { cwd: app },
    );
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const [id, result] = lines(sent.stdout);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toBe('5');
  });

  it("a task that failed exits 1 with the task's error", async () => {
    const sent = await runBin(['send', 'results.fail', '-b', REDIS, '-r', REDIS, '-q', queue, '--wait'], {
      cwd: app,
    });
    expect(sent.code).toBe(1);
    expect(lines(sent.stdout)).toHaveLength(1); // the id, no result
    expect(sent.stderr).toContain('refused on purpose');
  });

  it('no result in time exits 1 and says so', async () => {
    // Nobody consumes this queue.
    const sent = await runBin(
      ['send', 'results.add', '-b', REDIS, '-r', REDIS, '-q', `${queue}-idle`, '--wait', '--timeout', '300'],
      { cwd: app },
    );
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/no final result for task [0-9a-f-]{36} within 300 ms/);
  });
});

describe('results: usage errors exit 2', () => {
  it('--wait without a result backend', async () => {
    const sent = await runBin(['send', 'tasks.add', '-b', 'memory://', '--wait']);
    expect(sent.code).toBe(2);
    expect(sent.stderr).toContain('--wait needs a result backend');
  });

  it('a result backend URL nobody implements, naming --results', async () => {
    const sent = await runBin(['send', 'tasks.add', '-b', 'memory://', '-r', 'rpc://', '--wait']);
    expect(sent.code).toBe(2);
    expect(sent.stderr).toContain('"--results"');
    expect(sent.stderr).toContain('unknown result backend scheme "rpc:"');
  });

  it('--timeout without --wait', async () => {
    const sent = await runBin(['send', 'tasks.add', '-b', 'memory://', '--timeout', '5']);
    expect(sent.code).toBe(2);
    expect(sent.stderr).toContain('--timeout only applies with --wait');
  });

  it('reads the result backend from CONVEYOR_RESULT_BACKEND', async () => {
    const sent = await runBin(['send', 'tasks.add', '-b', 'memory://', '--wait', '--timeout', '50'], {
      env: { CONVEYOR_RESULT_BACKEND: 'memory://' },
    });
    // memory:// has no worker in this process: the wait times out (exit 1), it is not a usage error.
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('no final result');
  });
});
