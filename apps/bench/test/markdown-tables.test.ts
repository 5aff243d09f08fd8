import { describe, expect, it } from 'vitest';
import { formatMs, markdownTable, ratio } from '../src/markdown-tables.js';

describe('markdown tables', () => {
  it('writes ratios to two decimals with a multiplication sign', () => {
    expect(ratio(4500, 3000)).toBe('1.50×');
    expect(ratio(2, 3)).toBe('0.67×');
    expect(ratio(3000, 3000)).toBe('1.00×');
  });

  it('leaves a ratio empty when there is nothing to divide by', () => {
    expect(ratio(10, undefined)).toBe('');
    expect(ratio(10, 0)).toBe('');
  });

  it('writes milliseconds to two decimals', () => {
    expect(formatMs(1)).toBe('1.00');
    expect(formatMs(0.126)).toBe('0.13');
  });

  it('renders a header, an alignment line and one line per row, empty cells included', () => {
    const rows = [
      { name: 'a', n: 1 },
      { name: 'b', n: 22 },
    ];
    expect(
      markdownTable(rows, [
        { header: 'name', align: 'left', cell: (r) => r.name },
        { header: 'n', align: 'right', cell: (r) => String(r.n) },
        { header: 'note', align: 'left', cell: (r) => (r.n > 10 ? 'big' : '') },
      ]),
    ).toEqual(['| name | n | note |', '| --- | ---: | --- |', '| a | 1 |  |', '| b | 22 | big |']);
  });
});
