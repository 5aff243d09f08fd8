import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, defineTask } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { deleteQueues, KAFKA_ADDRESS } from './kafka-harness.js';

// Issue 12: workers of one consumer group lose no task when one of them is killed with SIGKILL
// mid-stream, or when a new one joins and the partitions are dealt out again; the tasks that run
// twice are counted and reported.
const TOTAL = 10_000;
/** Each worker process's concurrency, which is also its prefetch (records out and unsettled). */
const CONCURRENCY = 50;
/** The broker's group.min.session.timeout.ms: a killed member's partitions move after 6 s. */
const SESSION_TIMEOUT_MS = 6000;
/** Six partitions, so that three members of the group all get some. */
const PARTITIONS = 6;
const dir = mkdtempSync(join(tmpdir(), 'conveyor-kafka-crash-'));
const fixture = fileURLToPath(new URL('./fixtures/recording-worker.mjs', import.meta.url));
const children = new Set<ChildProcess>();
const queues: string[] = [];

/** A queue (topic) of its own for one test, removed with its dead-letter topic in afterAll. */
function freshQueue(): string {
  const queue = `crash-${Math.random().toString(36).slice(2, 8)}`;
  queues.push(queue, `${queue}.dlq`);
  return queue;
}

/** Errors the worker processes reported (lease losses, refused commits), for the test's output. */
const workerErrors: string[] = [];

/** Starts a worker process on `queue` that records each run to `file`; resolves once it consumes. */
function startWorker(
  queue: string,
  file: string,
  label: string,
  deliveryCounts: 'before-handout' | 'after-handout' = 'after-handout',
): Promise<ChildProcess> {
  const settings = [String(CONCURRENCY), String(SESSION_TIMEOUT_MS), String(PARTITIONS), deliveryCounts];
  const child = spawn(process.execPath, [fixture, KAFKA_ADDRESS, queue, file, label, ...settings], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${label} exited early (${code ?? signal})`)),
    );
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve(child);
        else if (line.startsWith('error ')) workerErrors.push(line);
      }
    });
  });
}

/** Resolves once the child has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stops a worker cleanly (it leaves the group), or kills it if it does not exit within 10 s. */
async function stopWorker(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited(child);
  clearTimeout(timer);
}

/** One run of a task, as a worker recorded it. */
interface Run {
  readonly n: number;
  readonly deliveryCount: number;
  readonly worker: string;
  /** When it started (epoch ms). */
  readonly at: number;
}

/** Every run the workers recorded, in the order they ran. */
function runs(file: string): Run[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [n, deliveryCount, worker, at] = line.split(' ');
      return { n: Number(n), deliveryCount: Number(deliveryCount), worker: worker!, at: Number(at) };
    });
}

function distinct(all: readonly Run[]): number {
  return new Set(all.map((run) => run.n)).size;
}

/**
 * What a finished run shows: tasks never run, runs beyond the first, and the runs whose
 * deliveryCount is lower than the number of times that task had run by then (the hand-out ledger
 * makes the count exact across replays, so the k-th run of a task must report at least k).
 */
function tally(all: readonly Run[]): { lost: number; duplicates: number; undercounted: Run[] } {
  const seen = new Map<number, number>();
  const undercounted: Run[] = [];
  for (const run of all) {
    const times = (seen.get(run.n) ?? 0) + 1;
    seen.set(run.n, times);
    if (run.deliveryCount < times) undercounted.push(run);
  }
  return { lost: TOTAL - seen.size, duplicates: all.length - seen.size, undercounted };
}

/** Publishes TOTAL `crash.record` tasks, numbered 0…TOTAL-1; resolves once Kafka accepted all. */
async function publishAll(queue: string): Promise<number> {
  const producer = new KafkaTransport({ brokers: [KAFKA_ADDRESS], partitions: PARTITIONS });
  try {
    const client = new Client({ transport: producer, defaultQueue: queue });
    const record = defineTask({ name: 'crash.record', handler: (_: [number]) => undefined });
    const args = Array.from({ length: TOTAL }, (_, i) => [i] as [number]);
    let accepted = 0;
    for (let i = 0; i < TOTAL; i += 1000) {
      accepted += (await client.sendMany(record, args.slice(i, i + 1000))).length;
    }
    return accepted;
  } finally {
    await producer.close();
  }
}

/** Records of `queue` handed out to some worker and not committed yet, as the hand-out ledger says. */
async function inFlight(queue: string): Promise<number> {
  const observer = new KafkaTransport({ brokers: [KAFKA_ADDRESS] });
  try {
    return (await observer.queueDepth(queue)).inFlight ?? 0;
  } finally {
    await observer.close();
  }
}

/**
 * Waits until every task ran at least once and the group committed everything (nothing handed out
 * and unsettled, nothing ready), or until anything reached the dead-letter topic: none of these
 * tasks fails, so none may end there. Returns the dead-lettered count.
 */
async function drained(queue: string, file: string, timeout: number): Promise<number> {
  const observer = new KafkaTransport({ brokers: [KAFKA_ADDRESS] });
  let deadLettered = 0;
  try {
    await expect
      .poll(
        async () => {
          deadLettered = (await observer.queueDepth(`${queue}.dlq`)).ready;
          if (deadLettered > 0) return true;
          if (distinct(runs(file)) < TOTAL) return false;
          const depth = await observer.queueDepth(queue);
          return depth.ready === 0 && depth.inFlight === 0;
        },
        { timeout, interval: 250 },
      )
      .toBe(true);
  } finally {
    await observer.close();
  }
  return deadLettered;
}

afterAll(async () => {
  try {
    await Promise.all([...children].map((child) => stopWorker(child)));
    await deleteQueues(queues);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('Kafka workers of one consumer group', () => {
  it('lose none of 10,000 tasks when one of two is killed with SIGKILL mid-stream', async () => {
    const queue = freshQueue();
    const file = join(dir, 'killed.txt');
    const accepted = await publishAll(queue);
    expect(accepted).toBe(TOTAL);

    const [doomed, survivor] = await Promise.all([
      // Counts stored before each hand-out: the kill lands at any moment, and every replay must
      // still show how often it ran (the default stores them a round trip later, see the README).
      startWorker(queue, file, 'doomed', 'before-handout'),
      startWorker(queue, file, 'survivor', 'before-handout'),
    ]);
    // Both members own partitions and a third of the tasks ran: the kill lands mid-stream.
    await expect
      .poll(
        () => {
          const all = runs(file);
          const workers = new Set(all.map((run) => run.worker));
          return workers.size === 2 && distinct(all) > TOTAL / 3;
        },
        { timeout: 60_000, interval: 20 },
      )
      .toBe(true);
    doomed.kill('SIGKILL');
    await exited(doomed);
    const killedAt = Date.now();
    const beforeKill = runs(file);
    const ranBeforeKill = distinct(beforeKill);
    const doomedRuns = beforeKill.filter((run) => run.worker === 'doomed');
    const doomedTasks = new Set(doomedRuns.map((run) => run.n));
    // Handed out and not committed, by both members (the hand-out ledger's count).
    const inFlightAtKill = await inFlight(queue);
    expect(ranBeforeKill).toBeLessThan(TOTAL);

    // The survivor takes the killed member's partitions once its session times out, and starts
    // them at their committed offsets: whatever the killed one had not settled and committed runs
    // again.
    const deadLettered = await drained(queue, file, 90_000);
    const recoveredMs = Date.now() - killedAt;
    await stopWorker(survivor);

    const all = runs(file);
    expect(all.every((run) => Number.isInteger(run.n) && run.n >= 0 && run.n < TOTAL)).toBe(true);
    const { lost, duplicates, undercounted } = tally(all);
    // Duplicates are records the killed worker had started but whose settlement no commit (or, for
    // those settled above an unsettled one, no hand-out ledger mark) had recorded yet: at most its
    // prefetch (50) plus what it settled in its last commit interval, a few dozen to a few hundred
    // at this rate; plus the survivor's own settles refused when the rebalance took its leases.
    // 1000 (10% of the tasks) is generous against that and still catches a commit that stopped
    // moving or a partition replayed from its start (about 1,700 records each).
    const afterKill = all.filter((run) => run.worker === 'survivor' && run.at >= killedAt);
    const replayedOnSurvivor = afterKill.filter((run) => run.deliveryCount > 1);
    const reranFromKilled = afterKill.filter((run) => doomedTasks.has(run.n)).length;
    const firstReplayMs = replayedOnSurvivor.length > 0 ? replayedOnSurvivor[0]!.at - killedAt : undefined;
    console.log(
      `kafka crash: ${accepted} accepted, ${lost} lost, ${duplicates} duplicates ` +
        `(${reranFromKilled} of them tasks the killed worker had run; ${inFlightAtKill} records handed out ` +
        `and uncommitted at the kill, both workers; ${doomedRuns.length} runs on the killed worker, ` +
        `${ranBeforeKill} tasks had run before SIGKILL); the survivor ran ${replayedOnSurvivor.length} ` +
        `replays (deliveryCount > 1), the first ${firstReplayMs} ms after the kill; every task ran and ` +
        `was committed ${recoveredMs} ms after the kill; ` +
        `${workerErrors.length} worker errors${workerErrors.length > 0 ? `, first: ${workerErrors[0]}` : ''}`,
    );
    expect({ lost, deadLettered, undercounted: undercounted.slice(0, 5) }).toEqual({
      lost: 0,
      deadLettered: 0,
      undercounted: [],
    });
    expect(duplicates).toBeLessThanOrEqual(1000);
  }, 150_000);

  it('lose none of 10,000 tasks when a third worker joins mid-stream (rebalance)', async () => {
    const queue = freshQueue();
    const file = join(dir, 'rebalanced.txt');
    const accepted = await publishAll(queue);
    expect(accepted).toBe(TOTAL);
    workerErrors.length = 0;

    const first = await Promise.all([startWorker(queue, file, 'first'), startWorker(queue, file, 'second')]);
    await expect
      .poll(
        () => {
          const all = runs(file);
          return new Set(all.map((run) => run.worker)).size === 2 && distinct(all) > TOTAL / 10;
        },
        { timeout: 60_000, interval: 20 },
      )
      .toBe(true);
    // Started early (9,000 tasks to go, several seconds of work at this machine's rate) so that its
    // join deals the partitions out again while both others are busy.
    const joinedAt = Date.now();
    const ranBeforeJoin = distinct(runs(file));
    const third = await startWorker(queue, file, 'third');
    expect(ranBeforeJoin).toBeLessThan(TOTAL);

    const deadLettered = await drained(queue, file, 90_000);
    const doneMs = Date.now() - joinedAt;
    await Promise.all([...first, third].map((child) => stopWorker(child)));

    const all = runs(file);
    const { lost, duplicates, undercounted } = tally(all);
    const onThird = all.filter((run) => run.worker === 'third');
    const ranOnThird = onThird.length;
    const firstOnThirdMs = ranOnThird > 0 ? onThird[0]!.at - joinedAt : undefined;
    console.log(
      `kafka rebalance: ${accepted} accepted, ${lost} lost, ${duplicates} duplicates ` +
        `(${ranBeforeJoin} tasks had run when the third worker started, ${ranOnThird} runs on it, ` +
        `the first ${firstOnThirdMs} ms after it started); ` +
        `every task ran and was committed ${doneMs} ms after it started; ` +
        `${workerErrors.length} worker errors${workerErrors.length > 0 ? `, first: ${workerErrors[0]}` : ''}`,
    );
    expect({ lost, deadLettered, undercounted: undercounted.slice(0, 5) }).toEqual({
      lost: 0,
      deadLettered: 0,
      undercounted: [],
    });
    // The rebalance happened mid-stream: the newcomer got partitions and ran tasks from them.
    expect(ranOnThird).toBeGreaterThan(0);
    // Members commit what they settled when the rebalance starts; what they still ran then loses
    // its lease (its ack is refused) and runs again on the partition's owner after the join: at
    // most each member's prefetch per rebalance (measured: about 100, the two members' 50 each, all
    // from the moment the third joined). The bound is as generous as the crash's.
    expect(duplicates).toBeLessThanOrEqual(1000);
  }, 150_000);
});
