import { type DeliveryHandler, MalformedMessageError } from '@conveyor/core';
import { decodeKombuEnvelope, invokeHandler } from '@conveyor/core/transport';
import type { QueueKeys } from './queue-keys.js';
import { levelOfBucket } from './queue-keys.js';
import { RedisDelivery } from './redis-delivery.js';
import type { RedisTransport } from './redis-transport.js';
import type { SettleBatcher } from './settle-batcher.js';

/** Most expired or due messages one take moves, so a backlog never makes one call slow. */
const HOUSEKEEPING_LIMIT = 500;
/**
 * How long a redelivery count lives without being written again. It outlives any realistic wait
 * of a requeued message; it exists for counts whose message a Python worker consumed (Conveyor
 * never hears of it), which would otherwise stay forever.
 */
export const REDELIVERY_COUNT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Takes a consumer keeps on their way at once. */
const TAKES_IN_FLIGHT = 2;

/**
 * One consumer of one queue. It takes as many messages as its prefetch allows with the atomic
 * `take` script, and takes again when a delivery settles, when a publish wakes it, when the
 * earliest delayed message is due, and every poll interval (for Python producers and crashed
 * workers' expired deliveries).
 */
export class RedisConsumer {
  readonly queue: string;
  readonly transport: RedisTransport;
  readonly batcher: SettleBatcher;
  readonly held = new Set<RedisDelivery>();
  readonly #keys: QueueKeys;
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
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
    transport: RedisTransport,
    queue: string,
    keys: QueueKeys,
    batcher: SettleBatcher,
    handler: DeliveryHandler,
    prefetch: number,
    onError: (error: unknown) => void,
  ) {
    this.transport = transport;
    this.queue = queue;
    this.#keys = keys;
    this.batcher = batcher;
    this.#handler = handler;
    this.#prefetch = prefetch;
    this.#onError = onError;
  }

  get stopped(): boolean {
    return this.#stopped;
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

  /**
   * Called by a delivery when it is settled: frees a prefetch slot. The take that refills it waits
   * one turn of the event loop, so that the slots freed by a whole batch are refilled by one take.
   */
  released(delivery: RedisDelivery): void {
    if (!this.held.delete(delivery) || this.#refillScheduled) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      this.kick();
    });
  }

  /** Resolves when no take is on its way (close waits for it before giving deliveries back). */
  async idle(): Promise<void> {
    while (this.#takes.size > 0) await Promise.allSettled([...this.#takes]);
  }

  /**
   * Starts takes for the free slots, up to two at once: while Node decodes and runs one batch,
   * Redis already prepares the next. Slots asked for by a take on its way count as used, so the
   * prefetch bound holds.
   */
  #pump(): void {
    while (!this.#stopped && this.#takes.size < TAKES_IN_FLIGHT) {
      const free = this.#prefetch - this.held.size - this.#reserved;
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
      const reply = (await this.transport.scripts(
        'take',
        [
          ...this.#keys.ready,
          this.#keys.inflight,
          this.#keys.payload,
          this.#keys.delayed,
          this.#keys.counts,
          this.#keys.sequence,
          this.#keys.countsAge,
        ],
        [requested, this.transport.visibilityTimeoutMs, HOUSEKEEPING_LIMIT, REDELIVERY_COUNT_RETENTION_MS],
      )) as (string | number)[];
      this.#failures = 0;
      if (this.#stopped) {
        // Stopped while the take was on its way: hand these straight back, undelivered.
        for (let i = 1; i < reply.length; i += 2)
          void this.batcher.push('n', String(reply[i])).catch(this.#onError);
        return;
      }
      this.#scheduleDue(Number(reply[0]));
      // The taken messages become held: release the reservation before delivering them.
      this.#reserved -= reserved;
      reserved = 0;
      for (let i = 1; i < reply.length; i += 2) this.#deliver(String(reply[i]), String(reply[i + 1]));
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

  /** `receipt` is "<id>|<bucket>|<delivery count>", as the take script writes it. */
  #deliver(receipt: string, raw: string): void {
    const [, bucketText, countText] = receipt.split('|');
    const bucket = Number(bucketText);
    const deliveryCount = Number(countText);
    let delivery: RedisDelivery;
    try {
      const { message } = decodeKombuEnvelope(raw);
      const level = levelOfBucket(bucket);
      if (level === undefined) delete message.properties.priority;
      else message.properties.priority = level;
      delivery = new RedisDelivery(this, receipt, raw, deliveryCount, message, null);
    } catch (error) {
      const malformed =
        error instanceof MalformedMessageError ? error : new MalformedMessageError(String(error));
      delivery = new RedisDelivery(this, receipt, raw, deliveryCount, null, malformed);
    }
    this.held.add(delivery);
    this.transport.track(delivery);
    invokeHandler(this.#handler, delivery, () => delivery.state !== 'open', this.#onError);
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    clearTimeout(this.#pollTimer);
    // Back off while Redis is unreachable; ioredis reconnects meanwhile.
    const wait =
      this.#failures > 0 ? Math.min(2000, 100 * 2 ** this.#failures) : this.transport.pollIntervalMs;
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
