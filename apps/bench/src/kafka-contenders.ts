import type { PickupHooks, PickupRun, ThroughputRun } from './contenders.js';
import type { DrainClock } from './kafka-throughput-run.js';

/** Where a case runs: one Kafka cluster, one topic of its own (the suite creates it and deletes it after the case). */
export interface KafkaTarget {
  /** `host:port` bootstrap brokers. */
  brokers: string[];
  /** Legal as a Kafka topic and as a Conveyor queue name: letters, digits, `-`, `.`. */
  topic: string;
  /** The topic's partition count, the same for every contender. */
  partitions: number;
}

/**
 * One library the Kafka suite measures, at a worker concurrency. Unlike the other suites' contenders,
 * a throughput run is given a DrainClock its handlers start, so that the group join is not timed.
 */
export interface KafkaContender {
  id: 'conveyor' | 'kafkajs' | 'platformatic';
  name: string;
  throughput(target: KafkaTarget, tasks: number, concurrency: number, clock: DrainClock): ThroughputRun;
  pickup(target: KafkaTarget, concurrency: number, hooks: PickupHooks): PickupRun;
}

/** Partitions of every case's topic: more than one, so that a consumer fetches from several at once. */
export const KAFKA_PARTITIONS = 3;

/** The consumer group of a raw anchor: one per case, named after its topic so the suite can delete it. */
export function anchorGroupId(target: KafkaTarget): string {
  return `${target.topic}-group`;
}

/**
 * Runs `handle` over `items` with at most `lanes` calls in flight, in order within a lane: what a
 * raw consumer at a concurrency does with one fetched batch.
 */
export async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  handle: (item: T) => Promise<void>,
): Promise<void> {
  if (lanes <= 1) {
    for (const item of items) await handle(item);
    return;
  }
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await handle(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}
