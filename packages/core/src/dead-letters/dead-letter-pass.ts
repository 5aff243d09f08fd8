import { InvalidOptionError } from '../errors/transport-errors.js';
import type { Delivery } from '../transport/delivery.js';
import type { Transport } from '../transport/transport.js';
import { type DeadLetter, describeDeadLetter } from './dead-letter.js';
import { LeaseKeeper } from './lease-keeper.js';

/** Options every dead-letter operation shares: which queue, and how long one pass may run. */
export interface DeadLetterPassOptions {
  /** The queue whose dead letters are meant; its dead-letter queue is `<queue>.dlq`. */
  queue: string;
  /** The dead-letter queue itself, when it is not `<queue>.dlq` (a QueueSpec.deadLetterQueue). */
  deadLetterQueue?: string;
  /**
   * At most this many letters are taken in this pass. Default: as many as the dead-letter queue
   * reported waiting when the pass began (letters arriving meanwhile wait for the next pass).
   */
  limit?: number;
  /** The pass ends when no letter arrived for this long (default 1500 ms). */
  idleMs?: number;
  /**
   * Wait this long for the first letter (default 15 s): a consumer may take seconds to be
   * assigned its partitions (a Kafka group join) before anything arrives.
   */
  firstLetterWaitMs?: number;
  /**
   * Letters held at once, the consumer's prefetch (default 10 000): list and show hold every letter
   * they read, redrive and purge only those that do not match. A pass that reaches it with every
   * slot held stops there (`seen` < `waiting`); a larger value asks the broker for larger batches.
   */
  maxHeld?: number;
  /** Letters handled at once (publishes and settles in flight; default 8). */
  concurrency?: number;
  /** Aborting ends the pass early; letters held so far are given back. */
  signal?: AbortSignal;
  /** Told about trouble the operation recovered from (a give-back the broker refused). */
  onError?: (error: unknown) => void;
}

/** What the visitor did with a letter: settled it itself, or leaves it to be given back at the end. */
export type DeadLetterVerdict = 'settled' | 'give-back';

/** How a pass went. */
export interface DeadLetterPassSummary {
  /** The dead-letter queue that was read. */
  deadLetterQueue: string;
  /** Letters the queue reported waiting when the pass began (`ready` of queueDepth). */
  waiting: number;
  /** Letters seen in this pass. */
  seen: number;
}

const DEFAULT_IDLE_MS = 1500;
const DEFAULT_FIRST_LETTER_WAIT_MS = 15_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_HELD = 10_000;

/** The dead-letter queue the options name. */
export function deadLetterQueueOf(options: Pick<DeadLetterPassOptions, 'queue' | 'deadLetterQueue'>): string {
  if (typeof options.queue !== 'string' || options.queue === '') {
    throw new InvalidOptionError('queue', 'must be a non-empty string');
  }
  return options.deadLetterQueue ?? `${options.queue}.dlq`;
}

/**
 * One pass over a dead-letter queue through the plain Transport contract, so it works on every
 * transport: consume the queue, show each letter to `visit` (which may settle it: ack after a
 * confirmed copy, say), hold every letter it leaves unsettled so that none is seen twice, and give
 * those back (nack, no delay) once the consumer has stopped. Held letters are given back last
 * first, so a broker that requeues at the head keeps the queue's order; one that requeues at the
 * tail (Kafka writes a copy) may change it. Nothing is lost either way.
 *
 * Bounded: it stops at `limit`, at the count the queue reported waiting, after `idleMs` without a
 * letter, or when `signal` aborts. Held letters keep their lease where the broker has a visibility
 * timeout (see LeaseKeeper), so a long pass does not see a letter twice. Reading counts as a delivery where the broker counts them (the
 * letter's delivery count rises; a RabbitMQ quorum queue with a delivery limit drops a letter past
 * it, so do not browse such a queue more often than its limit).
 */
export async function passOverDeadLetters(
  transport: Transport,
  options: DeadLetterPassOptions,
  visit: (
    letter: DeadLetter,
    delivery: Delivery,
    pass: Readonly<DeadLetterPassSummary>,
  ) => Promise<DeadLetterVerdict>,
): Promise<DeadLetterPassSummary> {
  const dlq = deadLetterQueueOf(options);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 1))) {
    throw new InvalidOptionError('limit', `must be an integer >= 1, got ${String(options.limit)}`);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InvalidOptionError(
      'concurrency',
      `must be an integer >= 1, got ${String(options.concurrency)}`,
    );
  }
  const maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD;
  if (!(Number.isInteger(maxHeld) && maxHeld >= 1)) {
    throw new InvalidOptionError('maxHeld', `must be an integer >= 1, got ${String(options.maxHeld)}`);
  }
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const firstWaitMs = options.firstLetterWaitMs ?? DEFAULT_FIRST_LETTER_WAIT_MS;
  const onError = options.onError ?? (() => {});

  // Declared as a plain queue (no dead-letter queue of its own), which is how every transport
  // declares a dead-letter queue beside its source. A transport that refuses the declaration (an
  // existing queue declared with other arguments) still serves it: the read below says.
  await transport.declareQueue({ name: dlq, deadLetterQueue: null }).catch(onError);
  const waiting = (await transport.queueDepth(dlq)).ready;
  const target = Math.min(limit, waiting);
  const summary: DeadLetterPassSummary = { deadLetterQueue: dlq, waiting, seen: 0 };
  if (target === 0 || options.signal?.aborted) return summary;

  const held: { index: number; delivery: Delivery }[] = [];
  const working = new Set<Promise<void>>();
  const slots = new Slots(concurrency);
  const leases = new LeaseKeeper(transport.capabilities, onError);
  const stop = new AbortController();
  let failure: { error: unknown } | undefined;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  const armTimer = (ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(() => finish(), ms);
  };
  const end = (): void => finish();
  options.signal?.addEventListener('abort', end, { once: true });

  const handle = async (delivery: Delivery): Promise<void> => {
    if (stop.signal.aborted || summary.seen >= target) {
      // Handed out after the pass had enough: straight back, unseen.
      await delivery.nack().catch(onError);
      return;
    }
    const index = ++summary.seen;
    leases.hold(delivery);
    armTimer(idleMs);
    if (summary.seen >= target) stop.abort();
    const letter = describeDeadLetter(
      delivery.message,
      delivery.rawPayload?.() ?? null,
      delivery.deliveryCount,
      index,
    );
    let verdict: DeadLetterVerdict = 'give-back';
    try {
      verdict = await slots.run(() => visit(letter, delivery, summary));
    } catch (error) {
      failure ??= { error };
      stop.abort();
    }
    if (verdict === 'give-back') held.push({ index, delivery });
    else leases.release(delivery);
    // A slow visit (a publish to a slow broker) is activity too: idle counts from its end.
    if (!stop.signal.aborted) armTimer(idleMs);
  };

  stop.signal.addEventListener('abort', end);
  try {
    await transport.consume(
      dlq,
      (delivery) => {
        const work = handle(delivery);
        working.add(work);
        void work.finally(() => working.delete(work));
        return work;
      },
      // Every letter of the pass may be held at once, up to maxHeld: a smaller window stalls it.
      {
        prefetch: Math.min(target, maxHeld),
        signal: stop.signal,
        // Once the pass stops, a receive cut short by the stop (an SQS long poll) is no news.
        onError: (error) => {
          if (!stop.signal.aborted) onError(error);
        },
      },
    );
    if (summary.seen === 0) armTimer(firstWaitMs);
    await finished;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', end);
    stop.abort();
    // The visits under way finish first (a redrive's publish and ack), then the rest goes back.
    while (working.size > 0) await Promise.all([...working]);
    // Last first: a broker that requeues at the head (memory, Redis) then keeps the queue's order.
    held.sort((a, b) => b.index - a.index);
    for (const { delivery } of held) await delivery.nack().catch(onError);
    leases.stop();
  }
  if (failure) throw failure.error;
  return summary;
}

/** At most `size` tasks run at once; the others wait their turn, first come first served. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
