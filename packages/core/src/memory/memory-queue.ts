import { DelayHeap } from './delay-heap.js';
import { Deque } from './deque.js';
import type { MemoryConsumer } from './memory-consumer.js';
import type { StoredMessage } from './stored-message.js';

/** How long a deduplication id is remembered, as on SQS FIFO queues. */
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

/** One queue of the in-memory broker: ready messages by priority, delayed ones, consumers. */
export class MemoryQueue {
  readonly name: string;
  deadLetterQueue: string | null;
  /** Messages handed out and not settled yet, by every connection. */
  inFlight = 0;
  readonly consumers: MemoryConsumer[] = [];

  readonly #levels: Deque<StoredMessage>[];
  #readyCount = 0;
  /** Highest level that may hold messages: lets the hot path skip empty levels. */
  #topLevel = 0;
  readonly #delayed = new DelayHeap<StoredMessage>();
  #delayTimer: ReturnType<typeof setTimeout> | undefined;
  #delayTimerDueAt = Number.POSITIVE_INFINITY;
  #dispatchScheduled = false;
  #nextConsumer = 0;
  readonly #dedupe = new Map<string, number>();

  constructor(name: string, levels: number) {
    this.name = name;
    this.deadLetterQueue = `${name}.dlq`;
    this.#levels = Array.from({ length: Math.max(1, levels) }, () => new Deque<StoredMessage>());
  }

  get readyCount(): number {
    return this.#readyCount;
  }

  get delayedCount(): number {
    return this.#delayed.length;
  }

  /** False when `id` was seen inside the window (the message must be dropped). */
  admitDeduplicationId(id: string, now: number): boolean {
    const until = this.#dedupe.get(id);
    if (until !== undefined && until > now) return false;
    if (this.#dedupe.size > 10_000) {
      for (const [key, expiry] of this.#dedupe) if (expiry <= now) this.#dedupe.delete(key);
    }
    this.#dedupe.set(id, now + DEDUPLICATION_WINDOW_MS);
    return true;
  }

  /** Makes a message ready; `front` puts it before the others of its level (redelivery). */
  enqueue(stored: StoredMessage, front = false): void {
    const level = Math.min(stored.priority, this.#levels.length - 1);
    const deque = this.#levels[level]!;
    if (front) deque.unshift(stored);
    else deque.push(stored);
    this.#readyCount += 1;
    if (level > this.#topLevel) this.#topLevel = level;
    this.scheduleDispatch();
  }

  /** Holds a message until `dueAt` (epoch ms), then makes it ready. */
  delay(stored: StoredMessage, dueAt: number): void {
    this.#delayed.push(dueAt, stored);
    this.#armDelayTimer();
  }

  addConsumer(consumer: MemoryConsumer): void {
    this.consumers.push(consumer);
    this.#armDelayTimer(true);
    this.scheduleDispatch();
  }

  removeConsumer(consumer: MemoryConsumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
  }

  /** Coalesces dispatch into one microtask, so publishing never runs a handler re-entrantly. */
  scheduleDispatch(): void {
    if (this.#dispatchScheduled || this.consumers.length === 0 || this.#readyCount === 0) return;
    this.#dispatchScheduled = true;
    queueMicrotask(this.#dispatch);
  }

  /** A handed-out message was settled, expired or given back: it is no longer in flight. */
  release(): void {
    this.inFlight -= 1;
    this.scheduleDispatch();
  }

  /** A handed-out message comes back unsettled (expired, nacked, its connection closed): first in line. */
  giveBack(stored: StoredMessage): void {
    this.release();
    this.enqueue(stored, true);
  }

  readonly #dispatch = (): void => {
    this.#dispatchScheduled = false;
    while (this.#readyCount > 0) {
      const consumer = this.#pickConsumer();
      if (!consumer) return;
      const stored = this.#take();
      stored.deliveryCount += 1;
      this.inFlight += 1;
      consumer.hand(stored);
    }
  };

  #pickConsumer(): MemoryConsumer | undefined {
    const consumers = this.consumers;
    const n = consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#nextConsumer + i) % n;
      const consumer = consumers[index]!;
      if (consumer.window.held < consumer.window.prefetch) {
        this.#nextConsumer = (index + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  #take(): StoredMessage {
    for (let level = this.#topLevel; level >= 0; level--) {
      const stored = this.#levels[level]!.shift();
      if (stored !== undefined) {
        this.#topLevel = level;
        this.#readyCount -= 1;
        return stored;
      }
    }
    throw new Error('MemoryQueue invariant broken: readyCount > 0 but every level is empty');
  }

  #armDelayTimer(force = false): void {
    const dueAt = this.#delayed.peekDueAt();
    if (dueAt === undefined) return;
    if (!force && this.#delayTimer !== undefined && this.#delayTimerDueAt <= dueAt) return;
    clearTimeout(this.#delayTimer);
    this.#delayTimerDueAt = dueAt;
    this.#delayTimer = setTimeout(this.#releaseDue, Math.max(0, dueAt - Date.now()));
    // With no consumer, a pending delay must not keep a producer process alive.
    if (this.consumers.length === 0) this.#delayTimer.unref?.();
  }

  readonly #releaseDue = (): void => {
    this.#delayTimer = undefined;
    this.#delayTimerDueAt = Number.POSITIVE_INFINITY;
    for (const stored of this.#delayed.popDue(Date.now())) this.enqueue(stored);
    this.#armDelayTimer();
  };
}
