/** One column of a Markdown table. */
export interface Column<Row> {
  header: string;
  /** Numbers align right, so that their digits line up when rendered. */
  align: 'left' | 'right';
  cell(row: Row): string;
}

/** A Markdown table, one line per row, in the order given. */
export function markdownTable<Row>(rows: readonly Row[], columns: readonly Column<NoInfer<Row>>[]): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(columns.map((c) => c.header)),
    line(columns.map((c) => (c.align === 'right' ? '---:' : '---'))),
    ...rows.map((row) => line(columns.map((c) => c.cell(row)))),
  ];
}

/** `value` as a multiple of `reference` (`1.50×`); empty when there is no reference to divide by. */
export function ratio(value: number, reference: number | undefined): string {
  return reference === undefined || reference === 0 ? '' : `${(value / reference).toFixed(2)}×`;
}

/** Milliseconds to 0.01: pickup latencies are around a millisecond, so whole ms would hide the differences. */
export function formatMs(value: number): string {
  return value.toFixed(2);
}
