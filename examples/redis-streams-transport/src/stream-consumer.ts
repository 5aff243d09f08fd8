import type { PrefetchWindow } from '@conveyor/core/transport';
import type { Redis } from 'ioredis';
import { entriesOfClaim, entriesOfRead, type StreamEntry } from './stream-entry.js';

/** What one consumer loop needs from its transport. */
export interface StreamConsumerInit {
  /** A connection of its own: `XREADGROUP … BLOCK` holds it while it waits. */
  reader: Redis;
  /** Another connection, to interrupt the blocked read on stop (`CLIENT UNBLOCK`). */
  control: Redis;
  stream: string;
  group: string;
  consumer: string;
  /** The prefetch window: never more than `window.free` entries are read or claimed. */
  window: PrefetchWindow;
  visibilityTimeoutMs: number;
  /** Wraps an entry in a delivery and calls the handler. */
  hand(entry: StreamEntry, deliveryCount: number): void;
  /** Puts back an entry that was read after stop() and never handed out. */
  giveBack(entry: StreamEntry): Promise<void>;
  /** Recreates the consumer group (its stream was deleted). */
  ensureGroup(): Promise<void>;
  /** Trouble the loop recovers from by itself (ConsumeOptions.onError). */
  onError(error: unknown): void;
}

/** Longest wait of one XREADGROUP; a stop() interrupts it sooner. */
const BLOCK_MS = 1000;
const RETRY_AFTER_ERROR_MS = 250;

/**
 * One `consume()` call: a loop that reads new entries with XREADGROUP (the consumer group hands
 * each entry to one consumer and remembers it as pending) and, every quarter visibility timeout,
 * claims entries that other consumers left pending too long with XAUTOCLAIM.
 */
export class StreamConsumer {
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
  readonly #init: StreamConsumerInit;
  readonly #claimEveryMs: number;
  #stopped = false;
  #wake: (() => void) | undefined;
  #readerId: number | undefined;

  constructor(init: StreamConsumerInit) {
    this.#init = init;
    this.#claimEveryMs = Math.min(5000, Math.max(100, init.visibilityTimeoutMs / 4));
    // A reconnected reader is a new client with a new id.
    init.reader.on('ready', () => {
      this.#readerId = undefined;
    });
    this.done = this.#run();
  }

  /** Room was made in the prefetch window: read again. */
  wake(): void {
    this.#wake?.();
  }

  /** Stops reading (held deliveries stay valid) and waits for the loop to end. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.wake();
      if (this.#readerId !== undefined) {
        await this.#init.control.client('UNBLOCK', this.#readerId).catch(() => {});
      }
    }
    await this.done;
  }

  async #run(): Promise<void> {
    let nextClaimAt = 0;
    while (!this.#stopped) {
      try {
        const room = this.#init.window.free;
        if (room <= 0) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
          continue;
        }
        if (Date.now() >= nextClaimAt) {
          nextClaimAt = Date.now() + this.#claimEveryMs;
          if ((await this.#claimExpired(room)) > 0) continue;
        }
        const entries = await this.#readNew(room, Math.min(BLOCK_MS, Math.max(1, nextClaimAt - Date.now())));
        for (const entry of entries) {
          if (this.#stopped) await this.#init.giveBack(entry);
          else this.#init.hand(entry, entry.earlierDeliveries + 1);
        }
      } catch (error) {
        if (this.#stopped) break;
        if (String((error as Error).message).startsWith('NOGROUP'))
          await this.#init.ensureGroup().catch(() => {});
        else this.#init.onError(error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_ERROR_MS));
      }
    }
  }

  async #readNew(count: number, blockMs: number): Promise<StreamEntry[]> {
    const { reader, group, consumer, stream } = this.#init;
    this.#readerId ??= await reader.client('ID');
    if (this.#stopped) return [];
    const reply = await reader.xreadgroupBuffer(
      'GROUP',
      group,
      consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      stream,
      '>',
    );
    return entriesOfRead(reply);
  }

  /** Takes over entries pending longer than the visibility timeout; returns how many it claimed. */
  async #claimExpired(count: number): Promise<number> {
    const { reader, group, consumer, stream, visibilityTimeoutMs } = this.#init;
    // ioredis has no typed binary XAUTOCLAIM; raw payloads must stay bytes.
    const reply = await reader.callBuffer(
      'XAUTOCLAIM',
      ...[stream, group, consumer, visibilityTimeoutMs, '0-0', 'COUNT', count],
    );
    const entries = entriesOfClaim(reply);
    // XAUTOCLAIM counted this delivery in the entry's pending record; XPENDING reads the count.
    const pending = await Promise.all(entries.map((e) => reader.xpending(stream, group, e.id, e.id, 1)));
    entries.forEach((entry, i) => {
      const record = pending[i]?.[0] as [string, string, number, number] | undefined;
      const deliveries = Number(record?.[3] ?? 1);
      if (this.#stopped) void this.#init.giveBack(entry).catch(this.#init.onError);
      else this.#init.hand(entry, entry.earlierDeliveries + deliveries);
    });
    return entries.length;
  }
}
