/** kombu's separator between a queue name and its priority step: the two bytes 0x06 0x16. */
export const KOMBU_SEPARATOR = '\x06\x16';

/** kombu's priority steps; each is one list, consumed in this order (0 is kombu's best). */
export const KOMBU_PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** Every Redis key of one queue. */
export interface QueueKeys {
  /** Ready lists, consumed first to last: kombu's `Q`, `Q\x06\x163`, `Q\x06\x166`, `Q\x06\x169`. */
  ready: [string, string, string, string];
  inflight: string;
  payload: string;
  delayed: string;
  counts: string;
  /** sha1 → when its redelivery count was last written; stale counts are pruned by `take`. */
  countsAge: string;
  sequence: string;
  /** Pub/sub channel a Conveyor publish wakes idle consumers on. */
  wake: string;
}

/**
 * Key names of a queue. Without `hashTag`, the ready lists are exactly kombu's (so Python Celery
 * shares them) and Conveyor's own bookkeeping sits beside them under `<Q>:cvy:`. With `hashTag`
 * (Redis Cluster), every key of the queue carries `{Q}` so that they share one slot and a Lua
 * script can touch them all; kombu has no Cluster support, so nothing is lost there.
 */
export function queueKeys(queue: string, prefix: string, hashTag: boolean): QueueKeys {
  const base = hashTag ? `${prefix}{${queue}}` : `${prefix}${queue}`;
  return {
    ready: [base, `${base}${KOMBU_SEPARATOR}3`, `${base}${KOMBU_SEPARATOR}6`, `${base}${KOMBU_SEPARATOR}9`],
    inflight: `${base}:cvy:inflight`,
    payload: `${base}:cvy:payload`,
    delayed: `${base}:cvy:delayed`,
    counts: `${base}:cvy:counts`,
    countsAge: `${base}:cvy:counts-age`,
    sequence: `${base}:cvy:seq`,
    wake: `${base}:cvy:wake`,
  };
}

/** Core priority levels on Redis: one per kombu list. */
export const REDIS_PRIORITY_LEVELS = 4;

/**
 * Bucket (1-based, consumed first to last) for a core level (higher first). Unset is Celery's
 * default, kombu priority 0: the first list, the same one Python's default tasks use.
 */
export function bucketOf(level: number | undefined): 1 | 2 | 3 | 4 {
  if (level === undefined) return 1;
  return (REDIS_PRIORITY_LEVELS - level) as 1 | 2 | 3 | 4;
}

/** The kombu priority written into the envelope for a bucket (0, 3, 6, 9). */
export function kombuPriorityOf(bucket: number): number {
  return KOMBU_PRIORITY_STEPS[bucket - 1] ?? 0;
}

/** Core level of a message found in a bucket; the first list reads as "unset" (Celery default). */
export function levelOfBucket(bucket: number): number | undefined {
  return bucket === 1 ? undefined : REDIS_PRIORITY_LEVELS - bucket;
}
