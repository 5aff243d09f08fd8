import type { TransportCapabilities } from '../transport/capabilities.js';
import type { Delivery } from '../transport/delivery.js';

/**
 * Keeps the letters a pass holds from being handed out again while it runs. On a broker that
 * redelivers after a visibility timeout (SQS, Redis), a letter held longer than the timeout would
 * come back as a second delivery: seen twice by a listing, and its give-back would fail. Where the
 * transport can extend visibility, every held letter is extended by one timeout each third of a
 * timeout; elsewhere (RabbitMQ, Kafka hold a delivery as long as the consumer lives) it does nothing.
 */
export class LeaseKeeper {
  readonly #held = new Set<Delivery>();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(capabilities: TransportCapabilities, onError: (error: unknown) => void) {
    const timeoutMs = capabilities.redelivery.visibilityTimeoutMs;
    if (!capabilities.visibilityExtension || !timeoutMs) return;
    this.#timer = setInterval(
      () => {
        for (const delivery of this.#held) delivery.extendVisibility(timeoutMs).catch(onError);
      },
      Math.max(1, Math.floor(timeoutMs / 3)),
    );
    this.#timer.unref();
  }

  hold(delivery: Delivery): void {
    if (this.#timer) this.#held.add(delivery);
  }

  release(delivery: Delivery): void {
    this.#held.delete(delivery);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#held.clear();
  }
}
