/**
 * One consumer's prefetch bound: how many deliveries it holds unsettled, and what to do when one
 * is released (take more). HeldDeliveries keeps `held` exact; the consumer reads `free`.
 */
export class PrefetchWindow {
  /** The prefetch bound the consumer was started with. */
  readonly prefetch: number;
  /** Deliveries handed out to this consumer and not settled yet. */
  held = 0;
  readonly #onRelease: (() => void) | undefined;

  constructor(prefetch: number, onRelease?: () => void) {
    this.prefetch = prefetch;
    this.#onRelease = onRelease;
  }

  /** Deliveries the consumer may still be handed. */
  get free(): number {
    return this.prefetch - this.held;
  }

  /** Called by HeldDeliveries when one of this consumer's deliveries is released. */
  released(): void {
    this.held -= 1;
    this.#onRelease?.();
  }
}
