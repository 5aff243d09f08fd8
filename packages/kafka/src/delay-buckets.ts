/**
 * Delay topics hold records for a power of two of seconds, 1 s to 16 384 s (about 4.5 h): every
 * record of one topic waits the same time, so records fall due in the order they were written and
 * the forwarder only ever waits for the head of a partition. A longer delay passes through the
 * top topic again until what remains fits; a delay ends in smaller and smaller hops.
 */
export const DELAY_BUCKET_SECONDS: readonly number[] = Array.from({ length: 15 }, (_, k) => 2 ** k);

/** The delay topic holding records for `seconds`. */
export function bucketTopic(prefix: string, seconds: number): string {
  return `${prefix}.${seconds}s`;
}

/** The hold of a delay topic, from its name; undefined for a topic that is not one. */
export function bucketSecondsOf(prefix: string, topic: string): number | undefined {
  if (!topic.startsWith(`${prefix}.`)) return undefined;
  const m = /^(\d+)s$/.exec(topic.slice(prefix.length + 1));
  const seconds = m ? Number(m[1]) : Number.NaN;
  return DELAY_BUCKET_SECONDS.includes(seconds) ? seconds : undefined;
}

/**
 * The bucket for a remaining delay: the largest hold not above it, so a record never waits past
 * its due time (below one second, the 1 s topic, where it is released at its due time).
 */
export function bucketFor(remainingMs: number): number {
  const whole = Math.max(1, Math.floor(remainingMs / 1000));
  let chosen = 1;
  for (const seconds of DELAY_BUCKET_SECONDS) if (seconds <= whole) chosen = seconds;
  return chosen;
}

/** When a record written at `writtenAt` into a `seconds` topic leaves it. */
export function releaseAt(writtenAt: number, seconds: number, notBefore: number): number {
  return Math.min(notBefore, writtenAt + seconds * 1000);
}
