import os from 'node:os';

/** Median of a list of numbers (the figure reported: robust to one noisy run on a shared machine). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A measured figure: the median reported, and every run it came from, to show how much they spread. */
export interface Figure {
  median: number;
  runs: number[];
}

export function figure(runs: number[]): Figure {
  return { median: median(runs), runs };
}

/** Nearest-rank percentile (`p` in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Runs `measure` `runs` times and returns every result, after one unmeasured warm-up. */
export async function repeat<T>(runs: number, measure: () => Promise<T>): Promise<T[]> {
  await measure();
  const results: T[] = [];
  for (let i = 0; i < runs; i++) results.push(await measure());
  return results;
}

/** Formats an integer with thousands separators. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The machine line of every section. */
export function machineLine(): string {
  return `Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'})`;
}

/** The first lines of a suite's section: the command that produced it and the machine it ran on. */
export function suiteHeading(command: string, tasks: number, runs: number): string[] {
  return [
    `Command: \`${command}\` (N = ${formatCount(tasks)} no-op tasks per run, median of ${runs} runs after one warm-up).`,
    `Machine: ${machineLine()}.`,
    '',
  ];
}
