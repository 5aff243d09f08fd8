/** One settlement waiting to be sent. */
interface PendingSettle {
  op: string;
  receipt: string;
  arg: string;
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces settlements of one queue into one `settle` script call per turn of the event loop:
 * the handlers of one batch finish together, and their acks go out together. Calls do not wait
 * for each other (settlements of different receipts commute, and one connection keeps their
 * order), so a slow reply never holds the next batch back.
 */
export class SettleBatcher {
  #pending: PendingSettle[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #send: (args: string[]) => Promise<number[]>;

  constructor(send: (args: string[]) => Promise<number[]>) {
    this.#send = send;
  }

  /** Resolves true when applied, false when the receipt was no longer held (lease lost). */
  push(op: string, receipt: string, arg = ''): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ op, receipt, arg, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Resolves once everything pushed so far has been sent and answered (close waits for this). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#inFlight.size > 0) {
      if (this.#scheduled) this.#flush();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /**
   * Sends what is waiting now instead of at the end of this turn. A take calls it first: on the
   * same connection Redis then applies a nack before the take looks at the list, so the nacked
   * message is handed out before the backlog behind it, not after the next message.
   */
  flush(): void {
    this.#flush();
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const args: string[] = [];
    for (const p of batch) args.push(p.op, p.receipt, p.arg);
    const call = this.#send(args).then(
      (results) => {
        for (const [i, p] of batch.entries()) p.resolve(results[i] === 1);
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
    this.#inFlight.add(call);
    void call.finally(() => this.#inFlight.delete(call));
  }
}
