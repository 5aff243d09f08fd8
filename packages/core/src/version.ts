import { readFileSync } from 'node:fs';

/**
 * This package's version, read from its own package.json (one level up from both `src/` and
 * `dist/`), so that a release bump never leaves a copy behind. Workers report it to Celery's
 * monitors as `sw_ver`.
 */
export const CONVEYOR_VERSION: string = readOwnVersion();

function readOwnVersion(): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const version = (manifest as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    // Bundled without its package.json: say so rather than report a wrong number.
    return 'unknown';
  }
}
