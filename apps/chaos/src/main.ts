// `pnpm chaos`: tasks through worker processes on each broker while workers are killed, brokers
// restarted and connections cut; checks that nothing accepted is lost and writes the table into
// docs/reliability.md. See docs/reliability.md for the method.
import { fileURLToPath } from 'node:url';
import { parseChaosArgs, USAGE } from './chaos-args.js';
import { type ChaosReport, runChaos } from './chaos-run.js';
import { reportRows, writeReliabilityDoc } from './reliability-doc.js';
import { violations } from './violations.js';

const DEFAULT_DOC = fileURLToPath(new URL('../../../docs/reliability.md', import.meta.url));

let args: ReturnType<typeof parseChaosArgs>;
try {
  args = parseChaosArgs(process.argv.slice(2), DEFAULT_DOC);
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const command = `pnpm chaos --broker ${args.brokers.length > 1 ? 'all' : args.brokers[0]} --tasks ${args.tasks} --workers ${args.workers} --concurrency ${args.concurrency} --seed ${args.seed}`;
const log = (line: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const reports: ChaosReport[] = [];
let failed = false;
for (const broker of args.brokers) {
  try {
    const report = await runChaos({
      broker,
      tasks: args.tasks,
      workers: args.workers,
      concurrency: args.concurrency,
      seed: args.seed,
      log,
    });
    reports.push(report);
    const rows = reportRows(report, command, '');
    console.log([...rows.summary, ...rows.recovery].join('\n'));
    for (const line of [...report.unexpectedExits, ...report.workerReports]) console.log(`  ${line}`);
    const problems = violations(report);
    if (problems.length > 0) {
      failed = true;
      console.log(`${broker}: INVARIANTS BROKEN:\n  ${problems.join('\n  ')}`);
    }
  } catch (error) {
    failed = true;
    console.error(
      `${broker}: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
}
if (args.doc && reports.length > 0) {
  await writeReliabilityDoc(args.doc, reports, command, new Date().toISOString().slice(0, 10));
  console.log(`wrote ${args.doc}`);
}
process.exit(failed ? 1 : 0);
