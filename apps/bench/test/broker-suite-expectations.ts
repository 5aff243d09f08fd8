import { expect } from 'vitest';
import type { CaseRow } from '../src/measure-cases.js';

/** Every case measured once, with figures only a working run gives (how fast is no pass/fail matter). */
export function expectEveryCaseMeasured(rows: readonly CaseRow[]): void {
  for (const row of rows) {
    expect(row.enqueue.runs).toHaveLength(1);
    expect(row.enqueue.median, `${row.name} enqueue`).toBeGreaterThan(0);
    expect(row.process.median, `${row.name} process`).toBeGreaterThan(0);
    expect(row.nodeCpuUsPerJob, `${row.name} node cpu`).toBeGreaterThan(0);
    expect(row.pickupP50.median, `${row.name} pickup p50`).toBeGreaterThan(0);
    expect(row.pickupP99.median).toBeGreaterThanOrEqual(row.pickupP50.median);
  }
}

/** The section's header lines, then its three tables in order, each with one line per row. */
export function expectCaseTables(markdown: string, command: string, rows: readonly CaseRow[]): void {
  expect(markdown).toContain(`Command: \`${command}\``);
  expect(markdown).toContain('How measured:');
  const sections = markdown.split('\n### ').slice(1);
  expect(sections.map((s) => s.slice(0, s.indexOf(':')))).toEqual([
    'Process',
    'Enqueue',
    'Idle pickup latency',
  ]);
  const names = new Set(rows.map((r) => r.name));
  for (const section of sections) {
    for (const name of names) {
      const line = new RegExp(`^\\| ${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| `, 'gm');
      expect(section.match(line), `${name} in ${section.slice(0, 20)}`).toHaveLength(
        rows.filter((r) => r.name === name).length,
      );
    }
  }
}
