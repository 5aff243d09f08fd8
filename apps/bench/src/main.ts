import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeBenchmarkSection } from './benchmarks-doc.js';
import { memorySuiteMarkdown, runMemorySuite } from './memory-suite.js';

const USAGE = `Usage: pnpm bench [--tasks N] [--runs R] [--out FILE] [--no-write]

Measures Conveyor side by side with its anchors and writes the tables to docs/benchmarks.md.
  --tasks N    tasks per run (default 200000)
  --runs R     measured runs per case; the median is reported (default 3)
  --out FILE   Markdown file to update (default docs/benchmarks.md at the repo root)
  --no-write   print the tables only
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    // pnpm forwards a literal `--` when called as `pnpm bench -- --tasks N`.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      tasks: { type: 'string', default: '200000' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const tasks = Number(values.tasks);
  const runs = Number(values.runs);
  if (!Number.isInteger(tasks) || tasks < 1)
    throw new Error(`--tasks must be a positive integer, got ${values.tasks}`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
  const out = values.out ?? resolve(repoRoot, 'docs/benchmarks.md');
  const command = `pnpm bench --tasks ${tasks} --runs ${runs}`;
  process.stdout.write(`memory:// suite: ${tasks} tasks x ${runs} runs per case...\n`);
  const result = await runMemorySuite({ tasks, runs });
  const markdown = memorySuiteMarkdown(result, { tasks, runs }, command);
  process.stdout.write(`${markdown}\n`);
  if (!values['no-write']) {
    await writeBenchmarkSection(out, 'memory', 'memory:// (in-process, MemoryTransport)', markdown);
    process.stdout.write(`\nwrote ${out}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
