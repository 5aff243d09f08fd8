import type { PrefetchWindow } from '../delivery/prefetch-window.js';
import type { MemoryQueue } from './memory-queue.js';
import type { StoredMessage } from './stored-message.js';

/** A registered consumer as a queue sees it: room in its prefetch window, and where messages go. */
export interface MemoryConsumer {
  readonly window: PrefetchWindow;
  /** Hands one taken message to the consumer's transport, which wraps and delivers it. */
  hand(stored: StoredMessage, queue: MemoryQueue): void;
}

/** What identifies a handed-out message to the in-memory broker. */
export interface MemoryLease {
  readonly stored: StoredMessage;
  readonly queue: MemoryQueue;
  /** Epoch ms after which the visibility sweep hands the message out again. */
  deadline: number;
}
