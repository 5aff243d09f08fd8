import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type Transport } from '@conveyor/core';
import { expect, vi } from 'vitest';
import { type BrokerPackage, FIXTURES, lines, runBin, startBin, transportInApp } from './helpers.js';

/** A broker the dead-letter scenario runs on. */
export interface DlqBroker {
  url: string;
  pkg: BrokerPackage;
  /** Each `conveyor` run is killed after this long (Kafka's group joins take seconds). */
  killAfterMs: number;
}

/** What `dlq list --json` prints of each letter. */
interface ListedLetter {
  key: string;
  taskId: string | null;
  task: string | null;
  reason: string | null;
  sourceQueue: string | null;
  deadLetteredAt: string | null;
  kind: string;
}

/**
 * The dead-letter tooling end to end on one broker, with real processes: a `conveyor worker`
 * dead-letters three failing tasks (two `dlq.flaky`, one `dlq.doomed`); `dlq list` shows them with
 * their reasons and `dlq show ID` prints one whole; after the fix, `dlq redrive --filter task=dlq.flaky` moves only those two, and a
 * worker then runs them; `dlq purge --yes` empties the dead-letter queue. Returns the time each
 * step took, for the report.
 */
export async function deadLetterScenario(
  broker: DlqBroker,
  app: string,
  queue: string,
): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await run();
    } finally {
      timings[step] = Date.now() - started;
    }
  };
  const cli = (args: string[]) =>
    runBin(['dlq', ...args, '--broker', broker.url, '--queue', queue], {
      cwd: app,
      killAfterMs: broker.killAfterMs,
    });
  const marker = join(tmpdir(), `conveyor-dlq-fixed-${randomUUID()}`);
  const transport: Transport = await transportInApp(app, broker.pkg, broker.url);
  await transport.connect();
  try {
    await transport.declareQueue({ name: queue });
    const client = new Client({ transport, defaultQueue: queue });
    const flaky = [
      (await client.send('dlq.flaky', [marker], { queue })).id,
      (await client.send('dlq.flaky', [marker], { queue })).id,
    ];
    const doomed = (await client.send('dlq.doomed', [], { queue })).id;

    await timed('dead-letter 3 with a worker', () =>
      runWorkerUntil(broker, app, queue, async () => {
        expect((await transport.queueDepth(`${queue}.dlq`)).ready).toBe(3);
      }),
    );

    const listed = await timed('dlq list', () => cli(['list', '--json']));
    expect(listed.code, listed.stderr).toBe(0);
    const listing = JSON.parse(listed.stdout) as { waiting: number; seen: number; letters: ListedLetter[] };
    expect(listing).toMatchObject({ waiting: 3, seen: 3 });
    const byId = new Map(listing.letters.map((l) => [l.taskId, l]));
    expect(new Set(byId.keys())).toEqual(new Set([...flaky, doomed]));
    for (const id of flaky) {
      expect(byId.get(id)).toMatchObject({ key: id, task: 'dlq.flaky', sourceQueue: queue, kind: 'task' });
      expect(byId.get(id)?.reason).toContain('not fixed yet');
      expect(Number.isNaN(Date.parse(byId.get(id)?.deadLetteredAt ?? ''))).toBe(false);
    }
    expect(byId.get(doomed)?.reason).toContain('doomed on purpose');

    const text = await cli(['list']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(doomed);
    expect(lines(text.stdout).at(-1)).toBe(`3 of 3 letters read in ${queue}.dlq`);

    const shown = await timed('dlq show', () => cli(['show', doomed, '--json']));
    expect(shown.code, shown.stderr).toBe(0);
    const letter = JSON.parse(shown.stdout) as ListedLetter & {
      headers: Record<string, unknown>;
      body: { encoding: string; data: string };
    };
    expect(letter).toMatchObject({ key: doomed, task: 'dlq.doomed', sourceQueue: queue });
    expect(letter.headers).toMatchObject({ id: doomed, task: 'dlq.doomed' });
    expect(letter.headers['x-conveyor-dead-letter-reason']).toContain('doomed on purpose');
    expect(letter.body.encoding).toBe('utf-8');

    writeFileSync(marker, 'fixed');
    const redriven = await timed('dlq redrive --filter task=dlq.flaky', () =>
      cli(['redrive', '--filter', 'task=dlq.flaky', '--progress']),
    );
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(lines(redriven.stdout).at(-1)).toBe(
      `redrive from ${queue}.dlq: moved 2, skipped 0, failed 0, unmatched 1 (3 read)`,
    );
    expect(redriven.stderr).toMatch(/redrive \[#+-*\] \d\/3 moved/);
    expect((await transport.queueDepth(`${queue}.dlq`)).ready).toBe(1);

    const ran = await timed('worker runs the redriven tasks', () =>
      runWorkerUntil(broker, app, queue, async (stdout) => {
        for (const id of flaky) expect(stdout).toContain(`task dlq.flaky[${id}] succeeded`);
      }),
    );
    // The redriven copies kept their ids and ran once each; nothing went back to the DLQ.
    for (const id of flaky) expect(ran.split(`task dlq.flaky[${id}] succeeded`).length - 1).toBe(1);

    const purged = await timed('dlq purge --yes', () => cli(['purge', '--yes']));
    expect(purged.code, purged.stderr).toBe(0);
    expect(lines(purged.stdout).at(-1)).toBe(`purged 1 from ${queue}.dlq, failed 0, unmatched 0 (1 read)`);
    expect((await transport.queueDepth(`${queue}.dlq`)).ready).toBe(0);
    return timings;
  } finally {
    await transport.close();
  }
}

/** Runs a worker on the queue until `done` passes (given its stdout), then stops it; resolves with its stdout. */
async function runWorkerUntil(
  broker: DlqBroker,
  app: string,
  queue: string,
  done: (stdout: string) => Promise<void>,
): Promise<string> {
  const worker = startBin(
    ['worker', '--broker', broker.url, '--tasks', join(FIXTURES, 'dlq-tasks.mjs'), '--queues', queue],
    { cwd: app },
  );
  try {
    await worker.waitForOutput('ready:', broker.killAfterMs);
    await vi.waitFor(() => done(worker.stdout()), { timeout: broker.killAfterMs, interval: 200 });
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  return worker.stdout();
}
