/** Median of a list of numbers (the figure reported: robust to one noisy run on a shared machine). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `measure` `runs` times and returns every result, after one unmeasured warm-up. */
export async function repeat(runs: number, measure: () => Promise<number>): Promise<number[]> {
  await measure();
  const results: number[] = [];
  for (let i = 0; i < runs; i++) results.push(await measure());
  return results;
}

/** Formats an integer with thousands separators. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
