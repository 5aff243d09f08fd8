import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BatchPublishError,
  BrokerConnectionError,
  BrokerError,
  Client,
  DEFAULT_PUBLISH_RETRY,
  InvalidOptionError,
  MemoryTransport,
  type PublishEntry,
} from '../src/index.js';
import { uniqueBroker } from './helpers.js';

const transports: MemoryTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

/**
 * A real MemoryTransport whose next publishes fail the way a broker connection does: `failures`
 * is consumed one call at a time (`true` fails the call, or for a batch, the entries listed).
 */
function flakyTransport(options: { batchPublish?: boolean } = {}) {
  const transport = new MemoryTransport({ broker: uniqueBroker('retry') });
  transports.push(transport);
  const plan: (Error | { failIndexes: number[] } | null)[] = [];
  const publish = transport.publish.bind(transport);
  const publishBatch = transport.publishBatch.bind(transport);
  const publishCalls = vi.spyOn(transport, 'publish').mockImplementation(async (queue, message, opts) => {
    const next = plan.shift();
    if (next instanceof Error) throw next;
    await publish(queue, message, opts);
  });
  const batchCalls = vi.spyOn(transport, 'publishBatch').mockImplementation(async (queue, entries) => {
    const next = plan.shift();
    if (next instanceof Error) throw next;
    if (next && 'failIndexes' in next) {
      // Stores the others, as a broker with per-message confirms does.
      const stored: PublishEntry[] = entries.filter((_, i) => !next.failIndexes.includes(i));
      await publishBatch(queue, stored);
      throw new BatchPublishError(
        next.failIndexes.map((index) => ({ index, error: new BrokerConnectionError('confirm lost') })),
        entries.length,
      );
    }
    await publishBatch(queue, entries);
  });
  if (options.batchPublish === false) {
    Object.defineProperty(transport, 'capabilities', {
      value: { ...transport.capabilities, batchPublish: false },
    });
  }
  return { transport, plan, publishCalls, batchCalls };
}

async function queued(transport: MemoryTransport, queue = 'celery'): Promise<number> {
  return (await transport.queueDepth(queue)).ready;
}

const lost = (): BrokerConnectionError => new BrokerConnectionError('connection to the broker lost');

describe('Client publishRetry', () => {
  it('is off by default: the retryable error reaches the caller and nothing is stored', async () => {
    expect(DEFAULT_PUBLISH_RETRY.maxRetries).toBe(0);
    const { transport, plan } = flakyTransport();
    plan.push(lost());
    const client = new Client({ transport });
    await expect(client.send('tasks.x', [1])).rejects.toBeInstanceOf(BrokerConnectionError);
    expect(await queued(transport)).toBe(0);
  });

  it('retries a retryable failure when asked, and stores the task once', async () => {
    const { transport, plan, publishCalls } = flakyTransport();
    plan.push(lost(), lost());
    const client = new Client({ transport, publishRetry: { maxRetries: 2, initialDelayMs: 1 } });
    await client.send('tasks.x', [1]);
    expect(publishCalls).toHaveBeenCalledTimes(3);
    expect(await queued(transport)).toBe(1);
  });

  it('gives up after maxRetries with the last error', async () => {
    const { transport, plan, publishCalls } = flakyTransport();
    plan.push(lost(), lost(), lost());
    const client = new Client({ transport, publishRetry: { maxRetries: 2, initialDelayMs: 1 } });
    await expect(client.send('tasks.x', [1])).rejects.toBeInstanceOf(BrokerConnectionError);
    expect(publishCalls).toHaveBeenCalledTimes(3);
    expect(await queued(transport)).toBe(0);
  });

  it('never retries an error that is not retryable', async () => {
    const { transport, plan, publishCalls } = flakyTransport();
    plan.push(new BrokerError('refused: access denied'));
    const client = new Client({ transport, publishRetry: { maxRetries: 5, initialDelayMs: 1 } });
    await expect(client.send('tasks.x', [1])).rejects.toBeInstanceOf(BrokerError);
    expect(publishCalls).toHaveBeenCalledTimes(1);
  });

  it('re-publishes only the batch entries that were not stored (no duplicates)', async () => {
    const { transport, plan, batchCalls } = flakyTransport();
    plan.push({ failIndexes: [1, 3] });
    const client = new Client({ transport, publishRetry: { maxRetries: 1, initialDelayMs: 1 } });
    const handles = await client.sendMany('tasks.x', [[0], [1], [2], [3]]);
    expect(handles).toHaveLength(4);
    expect(batchCalls).toHaveBeenCalledTimes(2);
    expect(batchCalls.mock.calls[1]![1]).toHaveLength(2);
    expect(await queued(transport)).toBe(4);
  });

  it("reports what still failed with indexes into the caller's list", async () => {
    const { transport, plan } = flakyTransport();
    plan.push({ failIndexes: [1, 3] }, { failIndexes: [1] });
    const client = new Client({ transport, publishRetry: { maxRetries: 1, initialDelayMs: 1 } });
    const error = await client.sendMany('tasks.x', [[0], [1], [2], [3]]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    // Second attempt had [entry 1, entry 3]; its index 1 is the caller's entry 3.
    expect((error as BatchPublishError).failed.map((f) => f.index)).toEqual([3]);
    expect(await queued(transport)).toBe(3);
  });

  it('without batch publish, retries only the single publishes that failed', async () => {
    const { transport, plan, publishCalls } = flakyTransport({ batchPublish: false });
    plan.push(null, lost(), null);
    const client = new Client({ transport, publishRetry: { maxRetries: 1, initialDelayMs: 1 } });
    await client.sendMany('tasks.x', [[0], [1], [2]]);
    expect(publishCalls).toHaveBeenCalledTimes(4);
    expect(await queued(transport)).toBe(3);
  });

  it('refuses a bad policy at construction, naming the option', () => {
    const { transport } = flakyTransport();
    expect(() => new Client({ transport, publishRetry: { maxRetries: -1 } })).toThrow(InvalidOptionError);
    expect(() => new Client({ transport, publishRetry: { maxRetries: -1 } })).toThrow(
      /publishRetry\.maxRetries/,
    );
  });
});
