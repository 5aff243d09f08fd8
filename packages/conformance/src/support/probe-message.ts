import { type Delivery, encodeTaskMessage, type WireMessage } from '@conveyor/core/transport';

/** Task name of the messages the suite publishes. */
export const PROBE_TASK = 'conformance.probe';

/** A valid Celery task message whose id is `id`, so the suite can track it end to end. */
export function probeMessage(id: string, seq = 0): WireMessage {
  return encodeTaskMessage({ id, task: PROBE_TASK, args: [seq] });
}

/** Ids `<prefix>-0` .. `<prefix>-(n-1)`. */
export function probeIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** The task id of a delivery (header `id`), or undefined for an undecodable payload. */
export function idOf(delivery: Delivery): string | undefined {
  const id = delivery.message?.headers.id;
  return typeof id === 'string' ? id : undefined;
}

/** Lists the ids in `expected` that are missing from `seen` (first 10, for error messages). */
export function missingIds(expected: Iterable<string>, seen: ReadonlySet<string>): string[] {
  const missing: string[] = [];
  for (const id of expected) if (!seen.has(id)) missing.push(id);
  return missing;
}
