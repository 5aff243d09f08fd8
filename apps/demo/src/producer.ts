/**
 * The producer: plans a deterministic mix of tasks and sends them in batches.
 */
import type { Client, ResultHandle } from '@conveyor/core';
import { checksum, flakyFetch, isFlaky, isMissing, wordStats } from './tasks.js';

/** What the producer expects to happen to a task. */
export type Expectation = 'success' | 'retry-then-success' | 'dead-letter';

/** One task of the plan. */
export type PlannedTask =
  | { kind: 'checksum'; args: [docId: number, bytes: number]; expect: Expectation }
  | { kind: 'wordStats'; args: [seed: number, words: number]; expect: Expectation }
  | { kind: 'flakyFetch'; args: [resourceId: number]; expect: Expectation }
  /** Arguments the worker's schema refuses, sent by name as a producer without the schema would. */
  | { kind: 'invalid'; taskName: string; args: unknown[]; expect: Expectation };

/** A sent task and the handle to read its result. */
export interface SentTask {
  planned: PlannedTask;
  handle: ResultHandle<unknown>;
}

/** Task name of a planned task, as it travels on the wire. */
export function taskNameOf(planned: PlannedTask): string {
  switch (planned.kind) {
    case 'checksum':
      return checksum.name;
    case 'wordStats':
      return wordStats.name;
    case 'flakyFetch':
      return flakyFetch.name;
    case 'invalid':
      return planned.taskName;
  }
}

const INVALID_WORD_STATS_ARGS: readonly unknown[][] = [[42, -5], ['forty-two', 100], [7], [3, 100_000]];

/**
 * A reproducible mix: a third each of checksum, wordStats and flakyFetch. About 1% of the
 * wordStats tasks carry invalid arguments, 10% of fetches fail once, 2% of fetches are 404s.
 */
export function planWorkload(total: number): PlannedTask[] {
  const plan: PlannedTask[] = [];
  const counters = { checksum: 0, wordStats: 0, flakyFetch: 0 };
  for (let i = 0; i < total; i++) {
    switch (i % 3) {
      case 0: {
        const docId = counters.checksum++;
        plan.push({ kind: 'checksum', args: [docId, 1024 + ((docId * 997) % 7168)], expect: 'success' });
        break;
      }
      case 1: {
        const n = counters.wordStats++;
        if (n % 100 === 99) {
          const args = INVALID_WORD_STATS_ARGS[Math.floor(n / 100) % INVALID_WORD_STATS_ARGS.length]!;
          plan.push({ kind: 'invalid', taskName: wordStats.name, args: [...args], expect: 'dead-letter' });
        } else {
          plan.push({ kind: 'wordStats', args: [n * 31 + 5, 50 + (n % 150)], expect: 'success' });
        }
        break;
      }
      default: {
        const resourceId = counters.flakyFetch++;
        const expect: Expectation = isMissing(resourceId)
          ? 'dead-letter'
          : isFlaky(resourceId)
            ? 'retry-then-success'
            : 'success';
        plan.push({ kind: 'flakyFetch', args: [resourceId], expect });
      }
    }
  }
  return plan;
}

/** Counts of a plan by what is expected to happen. */
export function expectedOutcomes(plan: readonly PlannedTask[]): Record<Expectation, number> {
  const counts: Record<Expectation, number> = { success: 0, 'retry-then-success': 0, 'dead-letter': 0 };
  for (const planned of plan) counts[planned.expect] += 1;
  return counts;
}

/**
 * Sends the plan in chunks; within a chunk, tasks of one kind go out as one `sendMany` (a single
 * broker round trip where the transport batches). `onSent` sees each task id as soon as it is out.
 */
export async function sendPlan(
  client: Client,
  plan: readonly PlannedTask[],
  onSent: (sent: SentTask) => void,
  chunkSize = 500,
): Promise<SentTask[]> {
  const sent: SentTask[] = [];
  for (let start = 0; start < plan.length; start += chunkSize) {
    const chunk = plan.slice(start, start + chunkSize);
    const groups = new Map<string, PlannedTask[]>();
    for (const planned of chunk) {
      const key = `${planned.kind}:${taskNameOf(planned)}`;
      const group = groups.get(key);
      if (group) group.push(planned);
      else groups.set(key, [planned]);
    }
    for (const group of groups.values()) {
      const handles = await sendGroup(client, group);
      group.forEach((planned, index) => {
        const entry: SentTask = { planned, handle: handles[index]! };
        sent.push(entry);
        onSent(entry);
      });
    }
  }
  return sent;
}

async function sendGroup(client: Client, group: readonly PlannedTask[]): Promise<ResultHandle<unknown>[]> {
  const first = group[0]!;
  switch (first.kind) {
    case 'checksum':
      return client.sendMany(
        checksum,
        group.map((p) => p.args as [number, number]),
      );
    case 'wordStats':
      return client.sendMany(
        wordStats,
        group.map((p) => p.args as [number, number]),
      );
    case 'flakyFetch':
      return client.sendMany(
        flakyFetch,
        group.map((p) => p.args as [number]),
      );
    case 'invalid':
      // By name: the client has no schema to check, exactly like a producer in another language.
      return client.sendMany(
        first.taskName,
        group.map((p) => p.args),
      );
  }
}
