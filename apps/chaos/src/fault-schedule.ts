import { seededRandom } from './seeded-random.js';

/** What a fault does: see docs/reliability.md. */
export type FaultKind = 'worker-kill' | 'broker-restart' | 'connection-cut';

export const FAULT_KINDS: readonly FaultKind[] = ['worker-kill', 'broker-restart', 'connection-cut'];

/** One planned fault. */
export interface PlannedFault {
  readonly kind: FaultKind;
  /** Fires once this fraction of the meant-to-succeed tasks has completed (and the previous fault is over). */
  readonly atProgress: number;
  /** worker-kill: which worker slot dies. */
  readonly workerSlot: number;
  /** worker-kill: pause before the replacement starts; broker-restart: how long the broker stays down. */
  readonly pauseMs: number;
}

export interface FaultPlanOptions {
  readonly seed: number;
  readonly counts: Readonly<Record<FaultKind, number>>;
  readonly workers: number;
  /** Kinds this broker cannot take (SQS on an in-memory ElasticMQ: no broker restart). */
  readonly unsupported?: readonly FaultKind[];
}

/**
 * Faults land on progress points between 25% and 85% of the run, so that the first quarter is a
 * fault-free baseline and the tail shows the last recovery; kinds come in a seeded order.
 */
export function planFaults(options: FaultPlanOptions): PlannedFault[] {
  const random = seededRandom(options.seed ^ 0x5eed);
  const kinds: FaultKind[] = [];
  for (const kind of FAULT_KINDS) {
    if (options.unsupported?.includes(kind)) continue;
    for (let i = 0; i < options.counts[kind]; i += 1) kinds.push(kind);
  }
  // Fisher-Yates with the seeded generator.
  for (let i = kinds.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const span = 0.6 / Math.max(1, kinds.length);
  return kinds.map((kind, i) => ({
    kind,
    // One fault per equal slice of the 25%..85% range, at a seeded point inside its slice.
    atProgress: 0.25 + span * (i + 0.2 + 0.6 * random()),
    workerSlot: Math.floor(random() * options.workers),
    pauseMs: kind === 'broker-restart' ? 1000 + Math.round(2000 * random()) : Math.round(1000 * random()),
  }));
}

/** How many faults of each kind a run of `tasks` tasks gets: at least one, broker restarts capped. */
export function defaultFaultCounts(tasks: number): Record<FaultKind, number> {
  return {
    'worker-kill': Math.max(1, Math.round(tasks / 3000)),
    // Other people test against the shared RabbitMQ and Kafka: a handful of short restarts at most.
    'broker-restart': Math.min(3, Math.max(1, Math.round(tasks / 5000))),
    'connection-cut': Math.max(1, Math.round(tasks / 3000)),
  };
}
