import {
  type DeliveryHandler,
  type DeliveryPort,
  type HeldDeliveries,
  handToHandler,
  PrefetchWindow,
  TransportDelivery,
} from '@conveyor/core/transport';
import { decodeStoredPayload } from './stored-payload.js';

/**
 * How long a redelivery count lives without being written again. It outlives any realistic wait
 * of a requeued message; it exists for counts whose message a Python worker consumed (Conveyor
 * never hears of it), which would otherwise stay forever.
 */
export const REDELIVERY_COUNT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Takes a consumer keeps on their way at once. */
const TAKES_IN_FLIGHT = 2;

/**
 * What a consumer needs from its transport, and nothing more: the atomic take of its queue, the
 * settle batcher of its queue (to hand back what a stopped consumer took), the delivery port and
 * the transport's registry of held deliveries.
 */
export interface RedisConsumerLink {
  readonly queue: string;
  /**
   * Runs the take script for up to `count` messages: `[next due ms, receipt, raw, receipt, raw, …]`,
   * every element the bytes Redis replied. A receipt is "<id>|<bucket>|<delivery count>"; a raw
   * payload is whatever was pushed, not necessarily UTF-8.
   */
  take(count: number): Promise<Buffer[]>;
  /**
   * Sends the settlements of this queue that wait for the end of the turn, on the connection the
   * take goes out on next, so they apply first (a nack is then taken before the backlog).
   */
  sendSettles(): void;
  /** Gives taken messages back undelivered (a take that arrived after the consumer stopped). */
  handBack(receipt: string): Promise<boolean>;
  readonly port: DeliveryPort<string>;
  readonly held: HeldDeliveries;
  readonly pollIntervalMs: number;
}

/**
 * One consumer of one queue. It takes as many messages as its prefetch window allows with the
 * atomic `take` script, and takes again when a delivery settles, when a publish wakes it, when the
 * earliest delayed message is due, and every poll interval (for Python producers and crashed
 * workers' expired deliveries).
 */
export class RedisConsumer {
  readonly #link: RedisConsumerLink;
  readonly #window: PrefetchWindow;
  readonly #handler: DeliveryHandler;
  readonly #onError: (error: unknown) => void;
  #stopped = false;
  readonly #takes = new Set<Promise<void>>();
  /** Slots asked for by takes on their way. */
  #reserved = 0;
  #refillScheduled = false;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #dueTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;

  constructor(
    link: RedisConsumerLink,
    handler: DeliveryHandler,
    prefetch: number,
    onError: (error: unknown) => void,
  ) {
    this.#link = link;
    this.#handler = handler;
    this.#onError = onError;
    this.#window = new PrefetchWindow(prefetch, () => this.#released());
  }

  get queue(): string {
    return this.#link.queue;
  }

  /** Asks for a take now (when a publish wakes it, on a timer). */
  kick(): void {
    if (this.#stopped) return;
    this.#pump();
  }

  /** Stops taking; held deliveries stay valid. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#dueTimer);
  }

  /** Resolves when no take is on its way (close waits for it before giving deliveries back). */
  async idle(): Promise<void> {
    while (this.#takes.size > 0) await Promise.allSettled([...this.#takes]);
  }

  /**
   * A delivery was settled: a prefetch slot is free. The take that refills it waits one turn of
   * the event loop, so that the slots freed by a whole batch are refilled by one take.
   */
  #released(): void {
    if (this.#refillScheduled || this.#stopped) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      this.kick();
    });
  }

  /**
   * Starts takes for the free slots, up to two at once: while Node decodes and runs one batch,
   * Redis already prepares the next. Slots asked for by a take on its way count as used, so the
   * prefetch bound holds.
   */
  #pump(): void {
    while (!this.#stopped && this.#takes.size < TAKES_IN_FLIGHT) {
      const free = this.#window.free - this.#reserved;
      if (free <= 0) return;
      const take = this.#take(free);
      this.#takes.add(take);
      void take.finally(() => this.#takes.delete(take));
    }
  }

  async #take(requested: number): Promise<void> {
    this.#reserved += requested;
    let reserved = requested;
    let full = false;
    try {
      this.#link.sendSettles();
      const reply = await this.#link.take(requested);
      this.#failures = 0;
      if (this.#stopped) {
        // Stopped while the take was on its way: hand these straight back, undelivered.
        for (let i = 1; i < reply.length; i += 2)
          void this.#link.handBack(reply[i]!.toString('latin1')).catch(this.#onError);
        return;
      }
      this.#scheduleDue(Number(reply[0]!.toString('latin1')));
      // The taken messages become held: release the reservation before delivering them.
      this.#reserved -= reserved;
      reserved = 0;
      for (let i = 1; i < reply.length; i += 2) this.#deliver(reply[i]!.toString('latin1'), reply[i + 1]!);
      full = (reply.length - 1) / 2 === requested;
    } catch (error) {
      this.#failures += 1;
      this.#onError(error);
    } finally {
      this.#reserved -= reserved;
    }
    // A full batch means more may be waiting: take again at once. Otherwise wait for a wake-up,
    // a settlement, the next delayed due time or the poll.
    if (full) this.#pump();
    this.#schedulePoll();
  }

  /**
   * `receipt` is "<id>|<bucket>|<delivery count>", as the take script writes it (ASCII); `raw` is
   * the payload's bytes as stored.
   */
  #deliver(receipt: string, raw: Buffer): void {
    const [, bucketText, countText] = receipt.split('|');
    const { message, malformed } = decodeStoredPayload(raw, Number(bucketText));
    const delivery = new TransportDelivery<string>({
      port: this.#link.port,
      held: this.#link.held,
      window: this.#window,
      receipt,
      queue: this.#link.queue,
      message,
      malformed,
      // The payload exactly as stored, byte for byte, for dead-lettering an undecodable one.
      raw,
      deliveryCount: Number(countText),
    });
    handToHandler(this.#handler, delivery, this.#onError);
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    clearTimeout(this.#pollTimer);
    // Back off while Redis is unreachable; ioredis reconnects meanwhile.
    const wait = this.#failures > 0 ? Math.min(2000, 100 * 2 ** this.#failures) : this.#link.pollIntervalMs;
    this.#pollTimer = setTimeout(() => this.kick(), wait);
  }

  #scheduleDue(dueAtMs: number): void {
    if (dueAtMs < 0 || this.#stopped) return;
    clearTimeout(this.#dueTimer);
    // The due time is on the server's clock; a few ms of skew only delays by that much.
    const wait = Math.max(0, dueAtMs - Date.now());
    this.#dueTimer = setTimeout(() => this.kick(), wait + 1);
  }
}
