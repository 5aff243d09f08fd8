/**
 * The demo's tasks: small, real, deterministic work. Every input is derived from a number, so a
 * run is reproducible and the producer knows in advance which tasks retry and which are
 * dead-lettered.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask, PermanentTaskError, type StandardSchemaV1 } from '@conveyor/core';

// ---------------------------------------------------------------------------------------------
// Deterministic input generation
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so the same seed always yields the same document. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = [
  'queue',
  'task',
  'worker',
  'broker',
  'message',
  'retry',
  'result',
  'the',
  'a',
  'of',
  'and',
  'to',
  'delivery',
  'ack',
  'consumer',
  'producer',
  'delay',
  'priority',
  'timeout',
  'signal',
  'batch',
  'schema',
  'payload',
  'header',
  'celery',
  'node',
  'python',
  'redis',
  'rabbit',
  'kafka',
  'stream',
  'backoff',
  'jitter',
  'lease',
  'visibility',
  'prefetch',
  'shutdown',
  'graceful',
  'latency',
  'load',
] as const;

/** Picks a word with a skewed (Zipf-like) distribution so that "top words" mean something. */
function pickWord(random: () => number): string {
  const index = Math.floor(VOCABULARY.length * random() ** 2.5);
  return VOCABULARY[Math.min(index, VOCABULARY.length - 1)]!;
}

/** A paragraph of `words` generated words. */
export function generateParagraph(seed: number, words: number): string {
  const random = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(pickWord(random));
  return out.join(' ');
}

/** A text document of exactly `bytes` ASCII bytes: sentences of generated words. */
export function generateDocument(docId: number, bytes: number): string {
  const random = seededRandom(docId * 7919 + 17);
  let text = `Document ${docId}\n`;
  while (text.length < bytes) {
    const length = 5 + Math.floor(random() * 12);
    const sentence: string[] = [];
    for (let i = 0; i < length; i++) sentence.push(pickWord(random));
    text += `${sentence.join(' ')}.\n`;
  }
  return text.slice(0, bytes);
}

// ---------------------------------------------------------------------------------------------
// A tiny hand-written Standard Schema validator (zod, valibot or arktype work the same way)
// ---------------------------------------------------------------------------------------------

/** Checks one argument: the accepted value, or why it is refused. */
export type Check<T> = (value: unknown) => { value: T } | { message: string };

/** An integer in [min, max]. */
export function integer(min: number, max: number): Check<number> {
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? { value }
      : {
          message: `expected an integer from ${min} to ${max}, got ${JSON.stringify(value) ?? String(value)}`,
        };
}

/**
 * A Standard Schema v1 for a task's positional args: an array with exactly one value per check.
 * The worker runs it before the handler; a failure dead-letters the task without retries.
 */
export function argsTuple<T extends unknown[]>(
  ...checks: { [K in keyof T]: Check<T[K]> }
): StandardSchemaV1<unknown, T> {
  const list = checks as readonly Check<unknown>[];
  return {
    '~standard': {
      version: 1,
      vendor: 'conveyor-demo',
      validate(value: unknown): StandardSchemaV1.Result<T> {
        if (!Array.isArray(value)) return { issues: [{ message: 'expected an array of arguments' }] };
        if (value.length !== list.length) {
          return { issues: [{ message: `expected ${list.length} arguments, got ${value.length}` }] };
        }
        const issues: StandardSchemaV1.Issue[] = [];
        const out: unknown[] = [];
        list.forEach((check, index) => {
          const result = check(value[index]);
          if ('message' in result) issues.push({ message: result.message, path: [index] });
          else out.push(result.value);
        });
        return issues.length > 0 ? { issues } : { value: out as T };
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The tasks
// ---------------------------------------------------------------------------------------------

/** Result of demo.checksum. */
export interface ChecksumResult {
  docId: number;
  bytes: number;
  sha256: string;
}

/** SHA-256 (hex) of a generated text document. */
export const checksum = defineTask({
  name: 'demo.checksum',
  handler: ([docId, bytes]: [number, number]): ChecksumResult => {
    const document = generateDocument(docId, bytes);
    return { docId, bytes: document.length, sha256: createHash('sha256').update(document).digest('hex') };
  },
});

/** Result of demo.wordStats. */
export interface WordStatsResult {
  words: number;
  unique: number;
  top: { word: string; count: number }[];
}

/** Word count, distinct words and the three most frequent words of a generated paragraph. */
export const wordStats = defineTask({
  name: 'demo.wordStats',
  // Validated at send (when sent through this task object) and again by the worker.
  schema: argsTuple<[number, number]>(integer(0, 2 ** 31 - 1), integer(1, 10_000)),
  handler: ([seed, words]): WordStatsResult => {
    const counts = new Map<string, number>();
    const list = generateParagraph(seed, words).split(' ');
    for (const word of list) counts.set(word, (counts.get(word) ?? 0) + 1);
    const top = [...counts]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 3)
      .map(([word, count]) => ({ word, count }));
    return { words: list.length, unique: counts.size, top };
  },
});

/** ~10% of resources fail on the first attempt (a dropped connection), then succeed. */
export function isFlaky(resourceId: number): boolean {
  return resourceId % 10 === 7;
}

/** ~2% of resources do not exist: a permanent failure, dead-lettered at once. */
export function isMissing(resourceId: number): boolean {
  return resourceId % 50 === 49;
}

/** Result of demo.flakyFetch. */
export interface FetchResult {
  resourceId: number;
  status: 200;
  etag: string;
  attempts: number;
}

/** A transient failure: the worker retries it after a short backoff. */
export class ConnectionResetError extends Error {
  constructor(resourceId: number) {
    super(`connection reset while fetching resource ${resourceId}`);
    this.name = 'ConnectionResetError';
  }
}

/**
 * "Fetches" a resource after a few ms of simulated latency. Flaky resources fail on the first
 * attempt (visible as retries); missing ones fail with PermanentTaskError (dead-lettered).
 */
export const flakyFetch = defineTask({
  name: 'demo.flakyFetch',
  retry: { maxRetries: 3, initialDelayMs: 20, factor: 2, maxDelayMs: 200 },
  handler: async ([resourceId]: [number], context): Promise<FetchResult> => {
    await sleep(1 + (resourceId % 4));
    if (isMissing(resourceId)) throw new PermanentTaskError(`resource ${resourceId} not found (HTTP 404)`);
    if (isFlaky(resourceId) && context.retries === 0) throw new ConnectionResetError(resourceId);
    const etag = createHash('sha1').update(`resource-${resourceId}`).digest('hex').slice(0, 16);
    return { resourceId, status: 200, etag, attempts: context.retries + 1 };
  },
});

/** Every task the demo worker runs. */
export const demoTasks = [checksum, wordStats, flakyFetch] as const;
