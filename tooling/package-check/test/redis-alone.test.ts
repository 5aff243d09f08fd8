// @conveyor/redis installed the way a stranger would, into an empty project with npm: only the
// transport, core and the Redis client arrive, one task runs through a real Redis, and require()
// from CommonJS behaves as documented.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, run, runOk } from './workspace.js';

/** Database 12 of the test Redis belongs to this package's tests. */
const REDIS_URL = `${(process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '')}/12`;

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

interface NpmTreeNode {
  version?: string;
  dependencies?: Record<string, NpmTreeNode>;
}

/**
 * Every package name in an `npm ls --all --json` tree below `node`, `node`'s own name excluded.
 * Nodes without a version are optional peers npm did not install (core's @opentelemetry/api).
 */
function namesBelow(node: NpmTreeNode, into = new Set<string>()): Set<string> {
  for (const [name, child] of Object.entries(node.dependencies ?? {})) {
    if (child.version === undefined) continue;
    into.add(name);
    namesBelow(child, into);
  }
  return into;
}

/** Package folders npm wrote into node_modules (scoped ones as `@scope/name`), nested ones too. */
function installedFolders(nodeModules: string, into = new Set<string>()): Set<string> {
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const names = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name)).map((inner) => `${entry.name}/${inner}`)
      : [entry.name];
    for (const name of names) {
      into.add(name);
      try {
        installedFolders(join(nodeModules, name, 'node_modules'), into);
      } catch {}
    }
  }
  return into;
}

describe('@conveyor/redis installed alone with npm', () => {
  const packed = inject('packed');
  let project: string;

  beforeAll(async () => {
    if (process.env.CONVEYOR_BROKERS_EXTERNAL !== '1') {
      await runOk('bash', [join(REPO_ROOT, 'tooling/brokers/brokers.sh'), 'up', 'redis'], {
        cwd: REPO_ROOT,
        timeoutMs: 300_000,
      });
    }
    project = mkdtempSync(join(inject('packDir'), 'stranger-'));
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'stranger', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
    );
    const tarballs = ['@conveyor/redis', '@conveyor/core'].map((name) => {
      const pkg = packed.find((candidate) => candidate.name === name);
      if (!pkg) throw new Error(`${name} was not packed`);
      return pkg.tarball;
    });
    // The registry serves ioredis and its dependencies; the Conveyor packages come from the tarballs
    // because they are not published yet.
    await runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], {
      cwd: project,
      timeoutMs: 120_000,
    });
  }, 300_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('brings only core, the transport and the Redis client with its own dependencies', async () => {
    const tree = JSON.parse(
      await runOk('npm', ['ls', '--all', '--json'], { cwd: project }),
    ) as NpmTreeNode & { problems?: string[] };
    expect(tree.problems ?? []).toEqual([]);
    const top = tree.dependencies ?? {};
    expect(Object.keys(top).sort()).toEqual(['@conveyor/core', '@conveyor/redis']);
    // Core has no dependencies; npm lists its optional peer (@opentelemetry/api) as an empty,
    // uninstalled node, which must stay so: nothing is installed for it.
    const coreDependencies = Object.entries(top['@conveyor/core']?.dependencies ?? {});
    expect(coreDependencies.filter(([, node]) => node.version !== undefined)).toEqual([]);
    expect(coreDependencies.map(([name]) => name).filter((name) => name !== '@opentelemetry/api')).toEqual(
      [],
    );
    const redisDependencies = top['@conveyor/redis']?.dependencies ?? {};
    expect(Object.keys(redisDependencies).sort()).toEqual(['@conveyor/core', 'ioredis']);
    const ioredis = redisDependencies.ioredis;
    expect(ioredis?.version).toMatch(/^6\./);

    // Whatever else is installed must be in ioredis's own dependency closure.
    const allowed = new Set(['@conveyor/core', '@conveyor/redis', 'ioredis', ...namesBelow(ioredis ?? {})]);
    const installed = installedFolders(join(project, 'node_modules'));
    expect([...installed].filter((name) => !allowed.has(name))).toEqual([]);
    expect([...namesBelow(tree)].filter((name) => !allowed.has(name))).toEqual([]);
    for (const name of [
      '@conveyor/amqp',
      '@conveyor/conformance',
      'amqplib',
      'vitest',
      'typescript',
      '@opentelemetry/api',
    ]) {
      expect(installed.has(name), name).toBe(false);
    }
  });

  it('runs one task through Redis', async () => {
    copyFileSync(fixture('one-task.mjs'), join(project, 'one-task.mjs'));
    const stdout = await runOk(process.execPath, ['one-task.mjs'], {
      cwd: project,
      env: { REDIS_URL },
      timeoutMs: 30_000,
    });
    const output = JSON.parse(stdout.trim()) as { taskId: string; result: unknown };
    expect(output.result).toBe(5);
    expect(output.taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  // Node.js >= 20.19 and >= 22.12 load ES modules with require(); engines allows >= 20.11.
  it.runIf(process.features.require_module === true)(
    'require() from CommonJS gets the same module as import, where Node.js has require(esm)',
    async () => {
      copyFileSync(fixture('require-core.cjs'), join(project, 'require-core.cjs'));
      const stdout = await runOk(process.execPath, ['require-core.cjs'], { cwd: project });
      expect(JSON.parse(stdout.trim())).toEqual({
        defineTask: 'function',
        defineCapabilities: 'function',
        RedisTransport: 'function',
        sameModuleAsImport: true,
      });
    },
  );

  it('require() without require(esm) fails with ERR_REQUIRE_ESM naming the package and import()', async () => {
    copyFileSync(fixture('require-core.cjs'), join(project, 'require-core.cjs'));
    // `--no-experimental-require-module` turns require(esm) off on a Node.js that has it, which is
    // what Node.js 20.11 to 20.18 does by default.
    const flags = process.features.require_module === true ? ['--no-experimental-require-module'] : [];
    const { code, stderr } = await run(process.execPath, [...flags, 'require-core.cjs'], { cwd: project });
    expect(code).not.toBe(0);
    expect(stderr).toContain('ERR_REQUIRE_ESM');
    expect(stderr).toContain(join('node_modules', '@conveyor', 'core', 'dist', 'index.js'));
    expect(stderr).toContain('dynamic import()');
  });
});
