import { MemoryQueue } from './memory-queue.js';

/** Priority levels of every in-memory queue (core levels 0..9). */
export const MEMORY_PRIORITY_LEVELS = 10;

/**
 * The state an in-memory "server" holds: its queues. Several MemoryTransport objects (the
 * "connections") share one broker, so a consumer that closes really hands its messages to
 * another. `memory://name` URLs name brokers in a process-wide registry.
 */
export class MemoryBroker {
  static readonly #named = new Map<string, MemoryBroker>();

  /** The broker registered under `name`, created on first use. */
  static named(name: string): MemoryBroker {
    let broker = MemoryBroker.#named.get(name);
    if (!broker) {
      broker = new MemoryBroker();
      MemoryBroker.#named.set(name, broker);
    }
    return broker;
  }

  readonly queues = new Map<string, MemoryQueue>();

  /** The queue called `name`, created with defaults on first use (brokers auto-create too). */
  queue(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new MemoryQueue(name, MEMORY_PRIORITY_LEVELS);
      this.queues.set(name, queue);
    }
    return queue;
  }
}
