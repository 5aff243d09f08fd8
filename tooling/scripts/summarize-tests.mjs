// Sums the vitest JSON reports of every package and prints the one line CI reads:
// "N passed, N failed, N skipped". Exits 1 when a test failed or no test ran at all.
// Failed tests are listed by name with the head of their error, after the per-package rows,
// because CI keeps only the tail of the output and turbo's own log of a failure scrolls away.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages', 'apps', 'tooling', 'examples'];
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
const failures = [];
for (const root of roots) {
  if (!existsSync(root)) continue;
  for (const name of readdirSync(root)) {
    const file = join(root, name, 'test-results', 'vitest.json');
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const p = report.numPassedTests ?? 0;
    const f = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
    const s = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    passed += p;
    failed += f;
    skipped += s;
    for (const suite of report.testResults ?? []) {
      const testFile = `${root}/${name}/${suite.name.split(`/${root}/${name}/`).pop()}`;
      const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === 'failed');
      for (const test of failedTests) {
        failures.push({ where: `${testFile} > ${test.fullName}`, messages: test.failureMessages ?? [] });
      }
      if (failedTests.length === 0 && suite.status === 'failed') {
        failures.push({ where: `${testFile} (the file itself)`, messages: [suite.message ?? ''] });
      }
    }
    rows.push(`  ${`${root}/${name}`.padEnd(28)} ${p} passed, ${f} failed, ${s} skipped`);
  }
}
console.log('\nTest results by package:');
for (const row of rows) console.log(row);
if (failures.length > 0) {
  console.log('\nFailed:');
  for (const { where, messages } of failures) {
    console.log(`  ✗ ${where}`);
    const head = messages.join('\n').split('\n').slice(0, 12);
    for (const line of head) console.log(`      ${line}`);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
