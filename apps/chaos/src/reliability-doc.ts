import { readFile, writeFile } from 'node:fs/promises';
import { BROKER_NAMES, type BrokerName } from './broker-profiles.js';
import type { ChaosReport } from './chaos-run.js';
import { FAULT_KINDS } from './fault-schedule.js';
import { median } from './recovery-stats.js';

/** The generated parts of docs/reliability.md: each is a list of rows, one set per broker. */
const SECTIONS = {
  summary: [
    '| Broker | Tasks | Faults (kill / restart / cut) | Lost | Duplicates | Dead-lettered expected / actual | Left in queue | Stalled workers | Baseline tasks/s | Under fault tasks/s | Took |',
    '| --- | ---: | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |',
  ],
  recovery: [
    '| Broker | Fault | Count | To next completion, median / max | To pre-fault rate, median / max | Not back at rate before the end |',
    '| --- | --- | ---: | --- | --- | ---: |',
  ],
  commands: [],
} as const;

type SectionId = keyof typeof SECTIONS;

const seconds = (ms: number | undefined): string =>
  ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`;

/** The rows a report gives to each generated section. */
export function reportRows(report: ChaosReport, command: string, date: string): Record<SectionId, string[]> {
  const { faults, deadLetters: dl, leftover } = report;
  const left = `${leftover.ready} ready, ${leftover.inFlight ?? 'n/a'} in flight`;
  const deadLettered = `${dl.expected} / ${dl.actual}${dl.copies > 0 ? ` (+${dl.copies} ${dl.copies === 1 ? 'copy' : 'copies'})` : ''}`;
  const summary = [
    `| ${report.broker} | ${report.accepted.toLocaleString('en-US')} | ${faults['worker-kill']} / ${faults['broker-restart']} / ${faults['connection-cut']} | **${report.lost.length}** | ${report.duplicates} | ${deadLettered} | ${left} | ${report.stalledWorkers} | ${report.baselinePerSecond.toFixed(0)} | ${report.underFaultPerSecond?.toFixed(0) ?? 'n/a'} | ${seconds(report.durationMs)} |`,
  ];
  const recovery = FAULT_KINDS.flatMap((kind) => {
    const of = report.recoveries.filter((r) => r.kind === kind);
    if (of.length === 0) return [];
    const next = of.flatMap((r) => (r.toNextCompletionMs === undefined ? [] : [r.toNextCompletionMs]));
    const rate = of.flatMap((r) => (r.toRateMs === undefined ? [] : [r.toRateMs]));
    return [
      `| ${report.broker} | ${kind} | ${of.length} | ${seconds(median(next))} / ${seconds(next.length ? Math.max(...next) : undefined)} | ${seconds(median(rate))} / ${seconds(rate.length ? Math.max(...rate) : undefined)} | ${of.length - rate.length} |`,
    ];
  });
  const commands = [
    `- **${report.broker}**: \`${command}\` (seed ${report.seed}, ${report.workers} workers), ${date}`,
  ];
  return { summary, recovery, commands };
}

/** The broker a generated row belongs to. */
function brokerOf(row: string): string | undefined {
  return /^\| (\S+) \|/.exec(row)?.[1] ?? /^- \*\*(\S+)\*\*/.exec(row)?.[1];
}

/**
 * Rewrites the generated sections of `path` (between `<!-- chaos:<id>:start -->` and `:end -->`)
 * with these reports' rows, keeping the rows of brokers not run this time.
 */
export async function writeReliabilityDoc(
  path: string,
  reports: readonly ChaosReport[],
  command: string,
  date: string,
): Promise<void> {
  let doc = await readFile(path, 'utf8');
  const replaced = new Set(reports.map((r) => r.broker));
  for (const id of Object.keys(SECTIONS) as SectionId[]) {
    const start = `<!-- chaos:${id}:start -->`;
    const end = `<!-- chaos:${id}:end -->`;
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${path} has no ${start} ... ${end} section`);
    const kept = doc
      .slice(from + start.length, to)
      .split('\n')
      .filter((row) => {
        const broker = brokerOf(row);
        return (
          broker !== undefined &&
          (BROKER_NAMES as readonly string[]).includes(broker) &&
          !replaced.has(broker as BrokerName)
        );
      });
    const fresh = reports.flatMap((report) => reportRows(report, command, date)[id]);
    const order = (row: string): number => BROKER_NAMES.indexOf(brokerOf(row) as BrokerName);
    const rows = [...kept, ...fresh].sort((a, b) => order(a) - order(b));
    const body = [...SECTIONS[id], ...rows].join('\n');
    doc = `${doc.slice(0, from + start.length)}\n${body}\n${doc.slice(to)}`;
  }
  await writeFile(path, doc);
}
