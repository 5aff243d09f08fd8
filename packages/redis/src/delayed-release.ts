import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from './connection.js';

/** What one release pass did (`RedisTransport.releaseDelayed`). */
export interface DelayedRelease {
  /** Queues looked at: those asked for, or every queue found with a delayed set. */
  queues: string[];
  /** Messages moved to their ready list, by queue; queues where none moved are left out. */
  released: Record<string, number>;
  /** Sum of `released`. */
  total: number;
  /**
   * Milliseconds until the earliest message still delayed in those queues is due, by the server's
   * clock; `null` when none is waiting.
   */
  nextDueInMs: number | null;
}

/** One queue's pass: how many moved and when the next one is due (ms from now; null for none). */
export interface QueueRelease {
  moved: number;
  nextDueInMs: number | null;
}

/**
 * Longest a watching transport sleeps between passes. Its own messages are released on time (it
 * sleeps until the earliest due one); this bounds how late a message is whose publisher exited
 * after parking it sooner than that.
 */
export const RELEASE_IDLE_MS = 1_000;

/** What the releaser needs from its transport. */
export interface DelayedReleaserLink {
  /** Runs release-5.lua for one queue. */
  release(queue: string): Promise<QueueRelease>;
  /** Tells Conveyor consumers of the queue that messages arrived (Python's BRPOP needs no call). */
  wake(queue: string): void;
}

/**
 * Keeps releasing due delayed messages of the queues a transport published delayed messages to,
 * while it is connected. On Redis the broker never moves them by itself: without a Conveyor
 * consumer of the queue (only Python Celery workers, say) they would wait forever. Each pass sleeps
 * until the earliest message of the watched queues is due, so any one watching process releases
 * every publisher's messages on time. The timer never keeps the process alive by itself.
 */
export class DelayedReleaser {
  readonly #link: DelayedReleaserLink;
  readonly #queues = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending timer fires (Date.now() based), to keep the earliest of several requests. */
  #fireAt = Number.POSITIVE_INFINITY;
  #pass: Promise<void> | undefined;
  /** A request that came during a pass: the next pass starts no later than this. */
  #wantedAt = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(link: DelayedReleaserLink) {
    this.#link = link;
  }

  /** Watches `queue` from now on and makes sure a pass runs once `delayMs` has gone by. */
  watch(queue: string, delayMs: number): void {
    if (this.#stopped) return;
    this.#queues.add(queue);
    this.#schedule(Date.now() + Math.max(0, delayMs));
  }

  /** Stops the timer and waits for a pass on its way (before the connection closes). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#pass;
  }

  #schedule(at: number): void {
    if (this.#stopped) return;
    if (this.#pass) {
      this.#wantedAt = Math.min(this.#wantedAt, at);
      return;
    }
    if (this.#timer !== undefined && this.#fireAt <= at) return;
    clearTimeout(this.#timer);
    this.#fireAt = at;
    this.#timer = setTimeout(() => this.#run(), Math.max(0, at - Date.now()));
    this.#timer.unref?.();
  }

  #run(): void {
    this.#timer = undefined;
    this.#fireAt = Number.POSITIVE_INFINITY;
    this.#pass = this.#releaseAll().finally(() => {
      this.#pass = undefined;
      const wanted = this.#wantedAt;
      this.#wantedAt = Number.POSITIVE_INFINITY;
      this.#schedule(wanted);
    });
  }

  async #releaseAll(): Promise<void> {
    let next = RELEASE_IDLE_MS;
    for (const queue of this.#queues) {
      if (this.#stopped) return;
      try {
        const { moved, nextDueInMs } = await this.#link.release(queue);
        if (moved > 0) this.#link.wake(queue);
        if (nextDueInMs !== null) next = Math.min(next, nextDueInMs);
      } catch (error) {
        // An ACL user that may only publish (see the README's "Least privilege") is refused the
        // release script for good: stop asking; the queue's workers release on every take.
        if (isRefusedByAcl(error)) this.#queues.delete(queue);
        // Otherwise Redis is away (ioredis reconnects by itself): the next pass tries again, the
        // messages stay safely in the zset meanwhile.
      }
    }
    // +1: the script compares with `<=` on whole ms; waking a hair early would find nothing due.
    this.#wantedAt = Math.min(this.#wantedAt, Date.now() + Math.max(1, next + 1));
  }
}

/** Redis refused the call for lack of an ACL permission (NOPERM): asking again cannot help. */
function isRefusedByAcl(error: unknown): boolean {
  return error instanceof Error && /\bNOPERM\b/.test(error.message);
}

/** Escapes the glob characters of SCAN's MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Suffix of a queue's delayed set (see queueKeys). */
const DELAYED_SUFFIX = ':cvy:delayed';

/**
 * Every queue with a delayed set under `prefix`, found by SCAN (on each master of a Cluster). The
 * inverse of queueKeys: `<prefix><queue>:cvy:delayed`, or `<prefix>{<queue>}:cvy:delayed` with
 * hash tags.
 */
export async function findDelayedQueues(
  connection: RedisConnection,
  prefix: string,
  hashTags: boolean,
): Promise<string[]> {
  const match = `${globEscape(prefix)}*${DELAYED_SUFFIX}`;
  const nodes: Redis[] = connection instanceof Cluster ? connection.nodes('master') : [connection];
  const queues = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000, 'TYPE', 'zset');
      cursor = nextCursor;
      for (const key of keys) {
        let queue = key.slice(prefix.length, key.length - DELAYED_SUFFIX.length);
        if (hashTags) {
          if (!(queue.startsWith('{') && queue.endsWith('}'))) continue;
          queue = queue.slice(1, -1);
        }
        if (queue !== '') queues.add(queue);
      }
    } while (cursor !== '0');
  }
  return [...queues].sort();
}
