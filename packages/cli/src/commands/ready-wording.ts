/**
 * How `conveyor inspect` labels a queue's `queueDepth().ready` on a transport where the figure is
 * not simply "messages waiting to be handed out". Keyed by `Transport#name`.
 */
export interface ReadyWording {
  /** Header of the table's `ready` column. */
  column: string;
  /** One line printed under the table, saying what the figure counts. */
  note: string;
}

/**
 * Kafka keeps no per-message state: what a queue still owes is its consumer group's lag (high
 * watermark minus committed offset, summed over partitions). Records handed out but not yet
 * committed are part of it, so "ready" would overstate what is waiting while a worker runs.
 */
const READY_WORDINGS: Readonly<Record<string, ReadyWording>> = {
  kafka: {
    column: 'lag',
    note:
      "lag: records the queue's consumer group (<topic>-consumer-group, as kombu names it) has not " +
      'committed, those in flight included; dead-lettered: records in <topic>.dlq',
  },
};

/** The wording for a transport, or undefined where `ready` means what it says. */
export function readyWordingFor(transportName: string): ReadyWording | undefined {
  return READY_WORDINGS[transportName];
}
