// Packs every published package once, as `pnpm publish` would (workspace: ranges rewritten, prepack
// run, `files` applied), and unpacks each tarball so the checks read exactly what a user downloads.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type PackedPackage, publicPackages, REPO_ROOT, runOk } from './workspace.js';

declare module 'vitest' {
  export interface ProvidedContext {
    packed: PackedPackage[];
    packDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const packDir = mkdtempSync(join(tmpdir(), 'conveyor-package-check-'));
  const packed = await Promise.all(
    publicPackages().map(async (pkg): Promise<PackedPackage> => {
      const output = await runOk('pnpm', ['pack', '--pack-destination', packDir, '--json'], {
        cwd: join(REPO_ROOT, pkg.directory),
      });
      const { filename } = JSON.parse(output) as { filename: string };
      const into = join(packDir, pkg.name.replace('/', '+'));
      mkdirSync(into);
      await runOk('tar', ['-xzf', filename, '-C', into], { cwd: packDir });
      return { ...pkg, tarball: filename, unpacked: join(into, 'package') };
    }),
  );
  project.provide('packed', packed);
  project.provide('packDir', packDir);
  return () => rmSync(packDir, { recursive: true, force: true });
}
