import { afterEach, describe, expect, it, vi } from 'vitest';
import { Client, defineTask, MemoryTransport, Worker } from '../src/index.js';
import { MAX_TIMEOUT_MS, setLongTimeout } from '../src/runtime/long-timeout.js';

// setTimeout fires a delay above 2^31 - 1 ms after 1 ms: a task sent with a 35-day time limit
// (Celery's time_limit=3_000_000) was killed at once with TimeLimitExceededError.
describe('time limits beyond the range of setTimeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a task with a 35-day hard limit runs to the end instead of being killed at once', async () => {
    const transport = new MemoryTransport();
    const slow = defineTask({
      name: 'long-limit.slow',
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return 'done';
      },
    });
    const worker = new Worker({ transport, tasks: [slow], queues: ['long-limit'] });
    const outcomes: string[] = [];
    worker.on('succeeded', () => outcomes.push('succeeded'));
    worker.on('retried', (event) => outcomes.push(`retried: ${String(event.error)}`));
    worker.on('failed', (event) => outcomes.push(`failed: ${String(event.error)}`));
    await worker.start();
    const client = new Client({ transport, defaultQueue: 'long-limit' });
    await client.send(slow, [], { timeLimit: { hardMs: 3_000_000_000, softMs: 2_500_000_000 } });
    await expect.poll(() => outcomes, { timeout: 5000 }).toEqual(['succeeded']);
    await worker.stop();
    await transport.close();
  });

  it('setLongTimeout waits the whole delay in hops, never fires for Infinity, and can be cleared', () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    setLongTimeout(() => fired.push('long'), MAX_TIMEOUT_MS * 2 + 10);
    setLongTimeout(() => fired.push('infinite'), Number.POSITIVE_INFINITY);
    const cleared = setLongTimeout(() => fired.push('cleared'), MAX_TIMEOUT_MS + 5);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    cleared.clear();
    vi.advanceTimersByTime(MAX_TIMEOUT_MS + 9);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['long']);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS * 10);
    expect(fired).toEqual(['long']);
  });
});
