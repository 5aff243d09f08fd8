import { ConveyorError, type ConveyorErrorOptions } from './conveyor-error.js';

/**
 * A delivery was settled after the transport stopped holding it for this consumer: its visibility
 * timeout ran out, its channel or partition was lost. The message has gone back to the queue (or
 * will), so it will run again: at-least-once, reported rather than hidden.
 */
export class LeaseLostError extends ConveyorError {
  constructor(operation: string, why: string, options: ConveyorErrorOptions = {}) {
    super(
      'LEASE_LOST',
      `${operation} of a delivery had no effect: ${why}; the message will be delivered again`,
      options,
    );
  }
}

/** Some entries of a publishBatch were not stored; the others were. */
export class BatchPublishError extends ConveyorError {
  /** Indexes (into the entries given) that were NOT stored, with why. */
  readonly failed: readonly { index: number; error: unknown }[];
  constructor(
    failed: readonly { index: number; error: unknown }[],
    total: number,
    options: ConveyorErrorOptions = {},
  ) {
    super('BATCH_PUBLISH_FAILED', `${failed.length} of ${total} batch entries were not published`, {
      retryable: true,
      ...options,
    });
    this.failed = failed;
  }
}
