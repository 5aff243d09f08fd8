/**
 * One entry of a queue's stream. The transport writes two fields: `payload`, the kombu envelope
 * (or whatever bytes a foreign producer put there), and `deliveries`, how many times the message
 * was handed out before this entry was written (a requeue writes a new entry, since a stream
 * cannot move an entry back to its end).
 */
export interface StreamEntry {
  readonly id: string;
  readonly payload: Buffer;
  readonly earlierDeliveries: number;
}

/** Field names of an entry. */
export const PAYLOAD_FIELD = 'payload';
export const DELIVERIES_FIELD = 'deliveries';

/** The entries of an `XREADGROUP … STREAMS key >` reply (binary): `[[key, [[id, fields], …]]]` or null. */
export function entriesOfRead(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((stream) => (Array.isArray(stream) ? entriesOf(stream[1]) : []));
}

/** The entries of an `XAUTOCLAIM` reply (binary): `[cursor, [[id, fields], …], deletedIds]`. */
export function entriesOfClaim(reply: unknown): StreamEntry[] {
  return Array.isArray(reply) ? entriesOf(reply[1]) : [];
}

function entriesOf(items: unknown): StreamEntry[] {
  if (!Array.isArray(items)) return [];
  const entries: StreamEntry[] = [];
  for (const item of items) {
    if (!Array.isArray(item) || item[1] === null) continue; // an entry deleted while it was pending
    const fields = item[1] as Buffer[];
    let payload: Buffer = Buffer.alloc(0);
    let earlierDeliveries = 0;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!.toString();
      if (name === PAYLOAD_FIELD) payload = fields[i + 1]!;
      else if (name === DELIVERIES_FIELD) earlierDeliveries = Number(fields[i + 1]!.toString()) || 0;
    }
    entries.push({ id: String(item[0]), payload, earlierDeliveries });
  }
  return entries;
}
