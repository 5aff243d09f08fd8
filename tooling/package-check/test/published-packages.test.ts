// Every published package, read from its packed tarball: what publint and arethetypeswrong say,
// the metadata a stranger needs, export conditions, dependency ranges and source maps.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, inject, it } from 'vitest';
import { type PackedPackage, publicPackages, REPO_ROOT, readManifest, run } from './workspace.js';

/** The project's canonical repository; repository, homepage and bugs all point into it. */
const REPOSITORY = 'https://github.com/conveyor-js/conveyor';

const ATTW = fileURLToPath(new URL('../node_modules/.bin/attw', import.meta.url));

/**
 * The packages are ESM-only, so arethetypeswrong runs with its `esm-only` profile, which sets aside
 * two resolution modes: `node10` (TypeScript's pre-`exports` resolution, which cannot see subpath
 * exports at all) and `node16-cjs` (require() from CommonJS, which attw judges by the rules of
 * TypeScript 5.6, before TypeScript 5.8 and Node.js 20.19 / 22.12 allowed require() of ES modules).
 * The require() path is instead run for real by redis-alone.test.ts.
 */
const ATTW_IGNORED_RESOLUTIONS = new Set(['node10', 'node16-cjs']);

interface AttwProblem {
  kind: string;
  entrypoint?: string;
  resolutionKind?: string;
}

const packed = inject('packed');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).isFile());
}

function exportTargets(pkg: PackedPackage): [string, Record<string, string>][] {
  return Object.entries(pkg.manifest.exports ?? {}).filter(
    (entry): entry is [string, Record<string, string>] => typeof entry[1] === 'object',
  );
}

it('the workspace has the seven published packages, and each is built before these tests', () => {
  const names = publicPackages().map((pkg) => pkg.name);
  expect(names).toEqual([
    '@conveyor/amqp',
    '@conveyor/cli',
    '@conveyor/conformance',
    '@conveyor/core',
    '@conveyor/kafka',
    '@conveyor/redis',
    '@conveyor/sqs',
  ]);
  // turbo builds a test's workspace dependencies first (^build) and re-runs the test when their
  // build changes: a published package missing here would be packed stale or not at all.
  const ownDevDependencies = readManifest(
    fileURLToPath(new URL('../package.json', import.meta.url)),
  ).devDependencies;
  for (const name of names) expect(ownDevDependencies?.[name], name).toBe('workspace:*');
  expect(packed.map((pkg) => pkg.name)).toEqual(names);
});

describe.each(packed.map((pkg) => [pkg.name, pkg] as const))('%s', (_, pkg) => {
  const shipped = readManifest(join(pkg.unpacked, 'package.json'));

  it('publint finds nothing, not even a suggestion', async () => {
    const data = readFileSync(pkg.tarball);
    const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    const result = await publint({ pack: { tarball }, level: 'suggestion' });
    const messages = result.messages.map((message) => formatMessage(message, result.pkg, { color: false }));
    expect(messages).toEqual([]);
  });

  it('arethetypeswrong (esm-only profile) finds no problem for ESM importers and bundlers', async () => {
    const { code, stdout, stderr } = await run(
      ATTW,
      [pkg.tarball, '--profile', 'esm-only', '--format', 'json', '--no-color'],
      {
        cwd: dirname(pkg.tarball),
      },
    );
    const report = JSON.parse(stdout) as { problems?: Record<string, AttwProblem[]> };
    const problems = Object.values(report.problems ?? {})
      .flat()
      .filter((problem) => !ATTW_IGNORED_RESOLUTIONS.has(problem.resolutionKind ?? ''));
    expect(problems).toEqual([]);
    expect(code, stderr).toBe(0);
  });

  it('says where it comes from: repository (with its folder), homepage and bugs', () => {
    expect(shipped.repository).toEqual({
      type: 'git',
      url: `git+${REPOSITORY}.git`,
      directory: pkg.directory,
    });
    expect(shipped.homepage).toBe(`${REPOSITORY}/tree/main/${pkg.directory}#readme`);
    expect(shipped.bugs).toEqual({ url: `${REPOSITORY}/issues` });
  });

  it('every export has types first and a default condition last, both files shipped', () => {
    const targets = exportTargets(pkg);
    expect(targets.length).toBeGreaterThan(0);
    for (const [subpath, conditions] of targets) {
      const keys = Object.keys(conditions);
      expect(keys[0], subpath).toBe('types');
      expect(keys.at(-1), subpath).toBe('default');
      for (const file of Object.values(conditions)) {
        expect(statSync(join(pkg.unpacked, file)).isFile(), `${subpath} -> ${file}`).toBe(true);
      }
    }
  });

  it('depends on other Conveyor packages and client libraries by caret ranges, never exact versions', () => {
    const ranges = { ...shipped.dependencies, ...shipped.peerDependencies };
    for (const [name, range] of Object.entries(ranges)) {
      expect(range, name).not.toMatch(/^workspace:/);
      if (name === 'vitest') continue; // an optional peer, with a floor only
      expect(range, name).toMatch(/^\^\d+\.\d+\.\d+$/);
    }
  });

  it('ships each source map with its sources: embedded, or as files inside the package', () => {
    const maps = filesUnder(pkg.unpacked).filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourcesContent, sourceRoot } = JSON.parse(readFileSync(map, 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
        sourceRoot?: string;
      };
      sources.forEach((source, index) => {
        if (typeof sourcesContent?.[index] === 'string') return;
        const file = resolve(dirname(map), sourceRoot ?? '', source);
        const inside = !relative(pkg.unpacked, file).startsWith('..');
        let exists = false;
        try {
          exists = statSync(file).isFile();
        } catch {}
        if (!inside || !exists) missing.push(`${relative(pkg.unpacked, map)} -> ${source}`);
      });
    }
    expect(missing).toEqual([]);
  });
});

describe('@conveyor/core', () => {
  it('carries the transport contract document, identical to docs/transport-contract.md', () => {
    const core = packed.find((pkg) => pkg.name === '@conveyor/core');
    expect(core).toBeDefined();
    const shippedDoc = readFileSync(join(core!.unpacked, 'dist', 'transport-contract.md'), 'utf8');
    expect(shippedDoc).toBe(readFileSync(join(REPO_ROOT, 'docs', 'transport-contract.md'), 'utf8'));
    expect(shippedDoc).toMatch(/dead.letter/i);
  });
});
