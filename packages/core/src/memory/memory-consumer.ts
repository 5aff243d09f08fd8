import type { PrefetchWindow } from '../delivery/prefetch-window.js';
import type { StoredMessage } from './stored-message.js';

/** A registered consumer as a queue sees it: room in its prefetch window, and where messages go. */
export interface MemoryConsumer {
  readonly window: PrefetchWindow;
  /** Hands one message taken from the consumer's queue to its transport, which delivers it. */
  hand(stored: StoredMessage): void;
}
