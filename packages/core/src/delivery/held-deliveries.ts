import type { PrefetchWindow } from './prefetch-window.js';

/** What the registry needs of a delivery (TransportDelivery is one). */
export interface HeldDelivery {
  /** The prefetch window of the consumer it was handed to. */
  readonly window: PrefetchWindow;
  /** Marks an open delivery closed: its transport closed and gives it back. */
  markClosed(): void;
}

/**
 * The deliveries one transport (one "connection") has handed out and not settled, in hand-out
 * order. Written once for every transport, like kombu's QoS: it keeps each consumer's prefetch
 * count exact, and at close it marks every unsettled delivery closed (later settles report
 * TransportClosedError) and returns them, so the transport gives each one back to its queue.
 */
export class HeldDeliveries {
  readonly #open = new Set<HeldDelivery>();
  #closed = false;

  /** Unsettled deliveries of this transport. */
  get size(): number {
    return this.#open.size;
  }

  /** True once closeAll ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Called by TransportDelivery when it is handed out (or reopened after a failed settle). */
  add(delivery: HeldDelivery): void {
    if (this.#closed) {
      // Handed out after close (a fetch that was on its way): never open, given back by the transport.
      delivery.markClosed();
      return;
    }
    this.#open.add(delivery);
    delivery.window.held += 1;
  }

  /** Called by TransportDelivery when a settle starts or its lease is lost. */
  release(delivery: HeldDelivery): void {
    if (this.#open.delete(delivery)) delivery.window.released();
  }

  /** The unsettled deliveries, oldest first. */
  [Symbol.iterator](): IterableIterator<HeldDelivery> {
    return this.#open.values();
  }

  /**
   * For the transport's close: every unsettled delivery becomes `closed` (settling it reports
   * TransportClosedError) and is returned, oldest first, for the transport to give back. Deliveries
   * handed out later are closed at once.
   */
  closeAll<D extends HeldDelivery = HeldDelivery>(): D[] {
    this.#closed = true;
    // The transport knows what it added (TransportDelivery<its receipt>); the type is its to name.
    const open = [...this.#open] as D[];
    this.#open.clear();
    for (const delivery of open) {
      delivery.markClosed();
      delivery.window.held -= 1;
    }
    return open;
  }
}
