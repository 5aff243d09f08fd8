import { describe, expect, it } from 'vitest';
import { batchesInFlight, ENQUEUE_BATCH, inBatches } from '../src/contenders.js';

describe('batched enqueue', () => {
  it('keeps as many batches in flight as asked, never more than there are batches, at least one', () => {
    expect(batchesInFlight(20_000, 1)).toBe(1);
    expect(batchesInFlight(20_000, 50)).toBe(40);
    expect(batchesInFlight(20_000, 100)).toBe(40);
    expect(batchesInFlight(1200, 100)).toBe(3);
    expect(batchesInFlight(300, 100)).toBe(1);
  });

  it('sends every job once, in batches of ENQUEUE_BATCH, with batchesInFlight batches at once', async () => {
    const tasks = 7 * ENQUEUE_BATCH + 3;
    const sent: [number, number][] = [];
    let inFlight = 0;
    let most = 0;
    await inBatches(tasks, 3, async (from, count) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      sent.push([from, count]);
      inFlight -= 1;
    });
    expect(most).toBe(batchesInFlight(tasks, 3));
    expect(sent.map(([, count]) => count).reduce((a, b) => a + b)).toBe(tasks);
    expect(sent.map(([from]) => from).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 8 }, (_, i) => i * ENQUEUE_BATCH),
    );
    expect(sent.find(([from]) => from === 7 * ENQUEUE_BATCH)?.[1]).toBe(3);
  });
});
