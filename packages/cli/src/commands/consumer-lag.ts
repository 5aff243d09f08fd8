/**
 * Transports whose queues are logs read by a consumer group (Kafka): what a queue still owes is
 * the group's lag, the records of its topic the group has not committed yet, ready and in flight
 * together. Kafka users watch that figure, so `conveyor inspect` shows it beside the contract's
 * counts. Keyed by `Transport#name`.
 */
const CONSUMER_LAG_TRANSPORTS: ReadonlySet<string> = new Set(['kafka']);

/** The line `inspect` prints under a table that has a lag column. */
export const CONSUMER_LAG_NOTE =
  "lag: records of the queue's topic its consumer group has not committed yet (ready + in flight)";

/** True when `inspect` shows a lag per queue for this transport. */
export function hasConsumerLag(transportName: string): boolean {
  return CONSUMER_LAG_TRANSPORTS.has(transportName);
}

/**
 * The lag of a queue from its depth: uncommitted records are either waiting (ready) or out with a
 * worker (in flight); a transport that cannot tell them apart counts them all as ready.
 */
export function consumerLag(depth: { ready: number; inFlight: number | null }): number {
  return depth.ready + (depth.inFlight ?? 0);
}
