import { ConveyorError } from '../errors/conveyor-error.js';
import { BatchPublishError } from '../errors/delivery-errors.js';
import type { PublishEntry, Transport } from '../transport/transport.js';
import { type RetryPolicy, resolveRetryPolicy, retryDelayMs } from './retry-policy.js';

/**
 * Retrying a publish is off by default: a publish the broker did not confirm is reported to the
 * caller. When asked, only errors a transport marks retryable (a lost connection, a confirm that
 * never came) are retried, and only the entries that were not stored: a retry can still duplicate
 * one whose confirm was lost on the way back (at least once, never lost).
 */
export const DEFAULT_PUBLISH_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 0,
  initialDelayMs: 100,
  factor: 2,
  maxDelayMs: 5_000,
  jitter: 'equal',
});

/** Fills and validates `publishRetry`; errors name the option path. */
export function resolvePublishRetry(input: Partial<RetryPolicy> | undefined): RetryPolicy {
  return resolveRetryPolicy(input, DEFAULT_PUBLISH_RETRY, 'publishRetry');
}

/**
 * Publishes every entry to `queue` (one publish, a batch, or one publish per entry when the
 * transport has no batches) and retries what failed as `policy` allows. When entries still fail, a
 * single entry's own error is thrown, or a BatchPublishError whose indexes refer to `entries`.
 */
export async function publishWithRetry(
  transport: Transport,
  queue: string,
  entries: readonly PublishEntry[],
  policy: RetryPolicy,
): Promise<void> {
  // Indexes into `entries` of what is still to publish.
  let pending = entries.map((_, index) => index);
  for (let retry = 0; ; retry++) {
    const failed = await publishOnce(
      transport,
      queue,
      pending.map((index) => entries[index]!),
    );
    if (failed.length === 0) return;
    const failures = failed.map(({ index, error }) => ({ index: pending[index]!, error }));
    if (retry >= policy.maxRetries || !failures.every(({ error }) => isRetryable(error))) {
      throw entries.length === 1 ? failures[0]!.error : new BatchPublishError(failures, entries.length);
    }
    pending = failures.map(({ index }) => index);
    await new Promise((resolve) => setTimeout(resolve, retryDelayMs(policy, retry + 1)));
  }
}

/** One attempt; resolves with the entries (indexes into `batch`) that were not stored. */
async function publishOnce(
  transport: Transport,
  queue: string,
  batch: readonly PublishEntry[],
): Promise<{ index: number; error: unknown }[]> {
  if (batch.length === 1) {
    const [entry] = batch as [PublishEntry];
    try {
      await transport.publish(queue, entry.message, entry.options);
      return [];
    } catch (error) {
      return [{ index: 0, error }];
    }
  }
  if (transport.capabilities.batchPublish) {
    try {
      await transport.publishBatch(queue, batch);
      return [];
    } catch (error) {
      // A transport that cannot say which entries were stored leaves every one of them to retry.
      if (error instanceof BatchPublishError) return [...error.failed];
      return batch.map((_, index) => ({ index, error }));
    }
  }
  const settled = await Promise.allSettled(batch.map((e) => transport.publish(queue, e.message, e.options)));
  return settled.flatMap((outcome, index) =>
    outcome.status === 'rejected' ? [{ index, error: outcome.reason as unknown }] : [],
  );
}

function isRetryable(error: unknown): boolean {
  return error instanceof ConveyorError && error.retryable;
}
