// What the tests know about the repository: which packages are published, and how to run a command
// so that its failure shows what it printed.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The package.json fields the checks read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, string | Record<string, string>>;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** A package of packages/ that is not private, as it is in the workspace. */
export interface PublicPackage {
  name: string;
  /** Relative to the repository root, e.g. `packages/redis`. */
  directory: string;
  manifest: Manifest;
}

/** A public package packed by `pnpm pack` and unpacked: what npm would download. */
export interface PackedPackage extends PublicPackage {
  tarball: string;
  /** The unpacked tarball's `package/` folder. */
  unpacked: string;
}

export function readManifest(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/** Every package under packages/ without `"private": true`: the ones a release publishes. */
export function publicPackages(): PublicPackage[] {
  const packages: PublicPackage[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, 'packages'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const directory = `packages/${entry.name}`;
    let manifest: Manifest;
    try {
      manifest = readManifest(join(REPO_ROOT, directory, 'package.json'));
    } catch {
      continue;
    }
    if (manifest.private !== true) packages.push({ name: manifest.name, directory, manifest });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

/** What a finished command printed and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects on a non-zero exit (the caller asserts `code`). */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new Error(`${command} ${args.join(' ')} did not finish: ${error.message}\n${stdout}\n${stderr}`),
          );
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed; the error carries its output. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`.trimEnd(),
    );
  }
  return result.stdout;
}
