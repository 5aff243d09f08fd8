import type { ChaosReport } from './chaos-run.js';

/** The invariants a chaos run must keep, as sentences naming what broke (empty when all hold). */
export function violations(report: ChaosReport): string[] {
  const problems: string[] = [];
  if (report.lost.length > 0) {
    problems.push(
      `${report.lost.length} accepted tasks never completed, e.g. ${report.lost.slice(0, 10).join(', ')}`,
    );
  }
  const { leftover } = report;
  if (leftover.ready !== 0 || (leftover.inFlight ?? 0) !== 0 || (leftover.delayed ?? 0) !== 0) {
    problems.push(`the queue is not empty: ${JSON.stringify(leftover)}`);
  }
  if (report.deadLetters.missing.length > 0) {
    problems.push(
      `${report.deadLetters.missing.length} meant-to-fail tasks are not in the dead-letter queue: ${report.deadLetters.missing.slice(0, 10).join(', ')}`,
    );
  }
  if (report.deadLetters.unexpected.length > 0) {
    problems.push(
      `${report.deadLetters.unexpected.length} unexpected dead letters: ${report.deadLetters.unexpected.slice(0, 10).join(', ')}`,
    );
  }
  return problems;
}
