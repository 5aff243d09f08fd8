import { batchesInFlight } from './contenders.js';
import { type Column, formatMs, markdownTable, ratio } from './markdown-tables.js';
import type { CaseRow } from './measure-cases.js';
import { type Figure, formatCount } from './stats.js';

/** The level a suite varies between cases, as its tables head and read it. */
export interface Level<Row> {
  header: string;
  of(row: Row): number;
}

/** A contender the ratios divide by, taken at the same level as the row the ratio is on. */
interface Anchor<Row> {
  label: string;
  rowFor(row: Row): Row | undefined;
}

/** What a suite's three tables have in common. */
export interface CaseTableLayout<Row> {
  level: Level<Row>;
  /** Heads the rate columns, e.g. `jobs/s (median)`. */
  rateHeader: string;
  anchors: readonly Anchor<Row>[];
}

/** A layout whose anchors, given as `[label, contender id]` in column order, are found among `rows`. */
export function caseTableLayout<Row extends CaseRow>(
  rows: readonly Row[],
  spec: {
    level: Level<Row>;
    rateHeader: string;
    anchors: readonly (readonly [label: string, contender: Row['contender']])[];
  },
): CaseTableLayout<Row> {
  const { level } = spec;
  return {
    level,
    rateHeader: spec.rateHeader,
    anchors: spec.anchors.map(([label, contender]) => ({
      label,
      rowFor: (row) => rows.find((r) => r.contender === contender && level.of(r) === level.of(row)),
    })),
  };
}

const contenderColumn: Column<{ name: string }> = {
  header: 'contender',
  align: 'left',
  cell: (row) => row.name,
};

function levelColumn<Row>(level: Level<Row>): Column<Row> {
  return { header: level.header, align: 'right', cell: (row) => String(level.of(row)) };
}

/** A figure's median, then its ratio to each anchor's median. */
function medianColumns<Row>(
  header: string,
  ratioPrefix: string,
  format: (value: number) => string,
  pick: (row: Row) => Figure,
  anchors: readonly Anchor<Row>[],
): Column<Row>[] {
  return [
    { header, align: 'right', cell: (row) => format(pick(row).median) },
    ...anchors.map(
      (anchor): Column<Row> => ({
        header: `${ratioPrefix}vs ${anchor.label}`,
        align: 'right',
        cell: (row) => {
          const reference = anchor.rowFor(row);
          return ratio(pick(row).median, reference && pick(reference).median);
        },
      }),
    ),
  ];
}

/** Every run behind a rate, so a reader sees how far they spread around the median. */
function runsColumn<Row>(pick: (row: Row) => Figure): Column<Row> {
  return { header: 'runs', align: 'left', cell: (row) => pick(row).runs.map(formatCount).join(', ') };
}

/** CPU per job in whole µs: the fractions are below what the runs agree on. */
export function cpuColumn<Row>(header: string, usPerJob: (row: Row) => number): Column<Row> {
  return { header, align: 'right', cell: (row) => String(Math.round(usPerJob(row))) };
}

/** The process table: drain rate and its ratios, then the CPU columns the suite can measure, then the runs. */
export function processTable<Row extends CaseRow>(
  rows: readonly Row[],
  layout: CaseTableLayout<Row>,
  cpuColumns: readonly Column<Row>[],
): string[] {
  return markdownTable(rows, [
    contenderColumn,
    levelColumn(layout.level),
    ...medianColumns(layout.rateHeader, '', formatCount, (row) => row.process, layout.anchors),
    ...cpuColumns,
    runsColumn((row) => row.process),
  ]);
}

/** Batches the enqueue kept in flight: the case's level, capped by how many batches there are. */
export function batchesInFlightColumn<Row>(tasks: number, level: Level<Row>): Column<Row> {
  return {
    header: 'batches in flight',
    align: 'right',
    cell: (row) => String(batchesInFlight(tasks, level.of(row))),
  };
}

/** The enqueue table: rows stay under their case's level, which set how many batches were in flight. */
export function enqueueTable<Row extends CaseRow>(
  rows: readonly Row[],
  layout: CaseTableLayout<Row>,
  inFlight: Column<Row>,
): string[] {
  return markdownTable(rows, [
    contenderColumn,
    inFlight,
    ...medianColumns(layout.rateHeader, '', formatCount, (row) => row.enqueue, layout.anchors),
    runsColumn((row) => row.enqueue),
  ]);
}

/** The idle pickup latency section, heading included: the same in every broker suite. */
export function pickupLatencySection<Row extends CaseRow>(
  rows: readonly Row[],
  layout: CaseTableLayout<Row>,
): string[] {
  const runs = (figure: Figure): string => figure.runs.map(formatMs).join(', ');
  return [
    '### Idle pickup latency: send to handler start (ms, lower is better)',
    '',
    ...markdownTable(rows, [
      contenderColumn,
      levelColumn(layout.level),
      ...medianColumns('p50', 'p50 ', formatMs, (row) => row.pickupP50, layout.anchors),
      ...medianColumns('p99', 'p99 ', formatMs, (row) => row.pickupP99, layout.anchors),
      {
        header: 'runs (p50 / p99)',
        align: 'left',
        cell: (row) => `${runs(row.pickupP50)} / ${runs(row.pickupP99)}`,
      },
    ]),
  ];
}
