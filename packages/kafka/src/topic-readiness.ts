import type { Admin } from 'kafkajs';
import { kafkaErrorType } from './kafka-error-type.js';

/**
 * How long `declareQueue` (and the first publish or consume of a queue) waits for a topic it has
 * just created, or found, to have a leader for every partition. A healthy broker takes
 * milliseconds; a busy KRaft broker has been seen taking hundreds.
 */
export const TOPIC_READY_TIMEOUT_MS = 30_000;

/**
 * What a metadata answer says about a topic the broker has not fully taken on yet. In KRaft the
 * controller acknowledges CreateTopics before the broker's metadata cache has the topic, so the
 * broker answers "This server does not host this topic-partition" (UNKNOWN_TOPIC_OR_PARTITION)
 * for a moment; kafkajs's own `waitForLeaders` waits out only LEADER_NOT_AVAILABLE and fails on
 * it.
 */
const NOT_READY_YET = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
]);

/** Whether a kafkajs error is one a just-created topic gives until the broker has taken it on. */
export function isTopicNotReadyYet(error: unknown): boolean {
  const e = error as { name?: string; errors?: unknown[] };
  if (e.name === 'KafkaJSTimeout') return true; // kafkajs's own waitForLeaders gave up.
  const type = kafkaErrorType(error);
  if (type !== undefined && NOT_READY_YET.has(type)) return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isTopicNotReadyYet);
}

/** A topic that still had no leader for some partition when the wait ran out. */
export class TopicNotReadyError extends Error {
  override readonly name = 'TopicNotReadyError';
  /** Like kafkajs's errors: trying again later may succeed. */
  readonly retriable = true;
  constructor(
    readonly topics: readonly string[],
    waitedMs: number,
    options: { cause?: unknown } = {},
  ) {
    super(
      `topic ${topics.map((t) => `"${t}"`).join(', ')} has no leader for every partition after ${waitedMs} ms`,
      options,
    );
  }
}

/**
 * Resolves once the broker's metadata shows every one of `topics` with a leader for each of its
 * partitions, so that a producer or consumer connecting next finds them; until then, answers that
 * the topic is unknown or leaderless are waited out (100 ms doubling to 1 s), any other error is
 * thrown. Rejects with TopicNotReadyError at `deadline` (a Date.now() time).
 */
export async function waitForTopicLeaders(
  admin: Admin,
  topics: readonly string[],
  deadline: number,
): Promise<void> {
  const started = Date.now();
  let pauseMs = 100;
  let lastError: unknown;
  for (;;) {
    try {
      // A live metadata request: fetchTopicMetadata does not add the topics to the client's
      // targets (a target deleted later would fail every metadata refresh of the client).
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready = topics.every((topic) => {
        const partitions = found.find((t) => t.name === topic)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0);
      });
      if (ready) return;
      lastError = undefined;
    } catch (error) {
      if (!isTopicNotReadyYet(error)) throw error;
      lastError = error;
    }
    if (Date.now() + pauseMs > deadline)
      throw new TopicNotReadyError(
        topics,
        Date.now() - started,
        lastError === undefined ? {} : { cause: lastError },
      );
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 1000);
  }
}
