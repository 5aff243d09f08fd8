import type { ConsumeMessage } from 'amqplib';

/** How many messages a transport remembers the count of. */
const REMEMBERED = 10_000;

/**
 * The delivery counts a transport saw of classic-queue redeliveries it could not re-publish with
 * their count (a full queue refused the copy): the message is then handed out as it is, and
 * without this memory it would report "2" however often it came back, so a worker that keeps
 * getting it back would never reach its delivery limit. Shared by every consumer of the transport
 * (the Worker opens new consumers after running a suspect alone). Bounded, oldest first.
 */
export class UncopiedCounts {
  readonly #counts = new Map<string, number>();

  /** The count of this delivery: at least `atLeast`, and one more than last time it came back. */
  next(msg: ConsumeMessage, atLeast: number): number {
    const key = identityOf(msg);
    if (key === undefined) return atLeast;
    const count = Math.max(atLeast, (this.#counts.get(key) ?? 0) + 1);
    this.#counts.delete(key);
    this.#counts.set(key, count);
    if (this.#counts.size > REMEMBERED) this.#counts.delete(this.#counts.keys().next().value as string);
    return count;
  }
}

/** What identifies a message across its redeliveries: its message id, else Celery's task id. */
function identityOf(msg: ConsumeMessage): string | undefined {
  const id = msg.properties.messageId ?? msg.properties.headers?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
