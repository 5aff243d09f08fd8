import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';
import { expectedOutcomes, planWorkload } from '../src/producer.js';

const run = promisify(execFile);
const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('runDemo', () => {
  it('brings every sent task to a final state, with retries and dead-letters that add up', async () => {
    const lines: string[] = [];
    const summary = await runDemo({
      tasks: 300,
      broker: `memory://demo-test-${randomUUID()}`,
      log: (line) => lines.push(line),
    });

    expect(summary.complete).toBe(true);
    expect(summary.sent).toBe(300);
    expect(summary.succeeded + summary.deadLettered).toBe(summary.sent);
    expect(summary.retries).toBeGreaterThan(0);
    expect(summary.deadLettered).toBeGreaterThan(0);
    expect(summary.revoked).toBe(0);

    // The plan is deterministic, so the outcome is exactly what it predicts.
    const expected = expectedOutcomes(planWorkload(300));
    expect(summary.succeeded).toBe(expected.success + expected['retry-then-success']);
    expect(summary.deadLettered).toBe(expected['dead-letter']);
    expect(summary.tasksRetried).toBe(expected['retry-then-success']);
    expect(summary.retries).toBe(summary.tasksRetried); // each flaky fetch fails only its first attempt

    // The dead-letter queue holds exactly what the worker reported as dead-lettered.
    expect(summary.deadLetterQueue).toMatchObject({ name: 'demo.dlq', added: summary.deadLettered });
    expect(summary.workerErrors).toBe(0);

    // Progress every ~10%, then the summary and results read back through handle.get().
    expect(lines.filter((l) => /^\s+\[\s*\d+%\]/.test(l)).length).toBeGreaterThanOrEqual(5);
    expect(lines.some((l) => l.includes('[100%]'))).toBe(true);
    expect(summary.examples.map((e) => e.task)).toEqual(
      expect.arrayContaining(['demo.checksum', 'demo.wordStats', 'demo.flakyFetch']),
    );
    const checksum = summary.examples.find((e) => e.task === 'demo.checksum');
    expect(checksum?.outcome).toMatch(/"sha256":"[0-9a-f]{64}"/);
    expect(summary.examples.some((e) => e.outcome.startsWith('failed: TaskValidationError'))).toBe(true);
    expect(summary.examples.some((e) => e.outcome.startsWith('failed: PermanentTaskError'))).toBe(true);
  });

  it('runs twice on the same broker without counting the first run (dead-letter depth is a delta)', async () => {
    const broker = `memory://demo-test-${randomUUID()}`;
    const first = await runDemo({ tasks: 150, broker, log: () => {} });
    const second = await runDemo({ tasks: 150, broker, log: () => {} });
    expect(second.deadLetterQueue.depth).toBe(first.deadLetterQueue.depth + second.deadLettered);
    expect(second.deadLetterQueue.added).toBe(second.deadLettered);
    expect(second.succeeded + second.deadLettered).toBe(150);
  });
});

describe('dist/main.js', () => {
  it('prints a summary whose numbers add up and exits 0', async () => {
    const { stdout } = await run(process.execPath, [mainJs, '--tasks', '300'], { timeout: 60_000 });
    const number = (label: string): number => {
      const match = new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(stdout);
      if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
      return Number(match[1]);
    };
    const sent = number('tasks sent');
    expect(sent).toBe(300);
    expect(number('succeeded') + number('dead-lettered')).toBe(sent);
    expect(number('retries')).toBeGreaterThan(0);
    expect(stdout).toContain('✓ matches');
    expect(stdout).toMatch(/throughput\s+\d+ tasks\/s/);
  });

  it('refuses a bad option with exit code 2 and a one-line message', async () => {
    const error = await run(process.execPath, [mainJs, '--tasks', 'many']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 2 });
    expect((error as { stderr: string }).stderr.trim()).toBe(
      'demo: --tasks must be an integer >= 1, got "many"',
    );
  });
});
