import { readFile, writeFile } from 'node:fs/promises';

const HEADER = `# Benchmarks

Every figure here is produced by \`apps/bench\` in one run on one machine, and each section names the
command that produced it. Numbers are medians of several runs on a shared 2-core machine: compare
ratios within a section, not absolute numbers across sections or days.
`;

/**
 * Replaces (or appends) the section between \`<!-- bench:<id>:start -->\` and \`<!-- bench:<id>:end -->\`,
 * so each suite (memory, redis, amqp...) rewrites only its own table.
 */
export async function writeBenchmarkSection(
  path: string,
  id: string,
  title: string,
  body: string,
): Promise<void> {
  let doc: string;
  try {
    doc = await readFile(path, 'utf8');
  } catch {
    doc = HEADER;
  }
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const section = `${start}\n## ${title}\n\n${body}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  const next =
    from >= 0 && to > from
      ? doc.slice(0, from) + section + doc.slice(to + end.length)
      : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
}
