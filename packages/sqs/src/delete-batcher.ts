import type { SqsReceipt } from './receipt.js';

/** SQS takes at most this many entries per batch call. */
export const SQS_BATCH_ENTRIES = 10;

interface Pending {
  receipt: SqsReceipt;
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

/** Per entry of a batch call: true when applied, false when the handle is no longer valid, or the error. */
export type BatchOutcome = boolean | { error: unknown };

/**
 * Coalesces the acks of one queue into DeleteMessageBatch calls of up to 10, once per turn of the
 * event loop: the handlers of one receive finish together, and their acks go out together.
 */
export class DeleteBatcher {
  #pending: Pending[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #send: (receipts: SqsReceipt[]) => Promise<BatchOutcome[]>;

  constructor(send: (receipts: SqsReceipt[]) => Promise<BatchOutcome[]>) {
    this.#send = send;
  }

  /** Resolves true once deleted, false when the receipt handle was no longer valid. */
  push(receipt: SqsReceipt): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ receipt, resolve, reject });
      if (this.#pending.length >= SQS_BATCH_ENTRIES) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Resolves once everything pushed so far was answered (close waits for it). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0) {
      if (this.#pending.length > 0) this.#flush();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, SQS_BATCH_ENTRIES);
      const call = this.#send(batch.map((p) => p.receipt)).then(
        (outcomes) => {
          for (const [i, p] of batch.entries()) {
            const outcome = outcomes[i];
            if (typeof outcome === 'boolean') p.resolve(outcome);
            else p.reject(outcome?.error ?? new Error('no outcome for a batch entry'));
          }
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      );
      this.#inFlight.add(call);
      void call.finally(() => this.#inFlight.delete(call));
    }
  }
}
