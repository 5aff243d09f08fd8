/** One settlement waiting to be sent. */
interface PendingSettle {
  op: string;
  receipt: string;
  arg: string;
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces settlements of one queue into one `settle` script call: those requested in the same
 * turn of the event loop go together, and those requested while a call is in flight go in the next.
 */
export class SettleBatcher {
  #pending: PendingSettle[] = [];
  #flushing = false;
  readonly #drained: (() => void)[] = [];
  readonly #send: (args: string[]) => Promise<number[]>;

  constructor(send: (args: string[]) => Promise<number[]>) {
    this.#send = send;
  }

  /** Resolves true when applied, false when the receipt was no longer held (lease lost). */
  push(op: string, receipt: string, arg = ''): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ op, receipt, arg, resolve, reject });
      if (!this.#flushing) {
        // Claim the flush now, send it after this turn of the event loop: the handlers of one
        // batch finish together, and their acks then go out in one call.
        this.#flushing = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  /** Resolves once everything pushed so far has been sent and answered (close waits for this). */
  async drain(): Promise<void> {
    while (this.#flushing || this.#pending.length > 0) {
      await new Promise<void>((resolve) => {
        this.#drained.push(resolve);
      });
    }
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      const args: string[] = [];
      for (const p of batch) args.push(p.op, p.receipt, p.arg);
      try {
        const results = await this.#send(args);
        for (const [i, p] of batch.entries()) p.resolve(results[i] === 1);
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = false;
    for (const resolve of this.#drained.splice(0)) resolve();
  }
}
