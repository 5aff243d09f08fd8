import { InvalidOptionError } from '../errors/transport-errors.js';
import { importBrokerPackage, urlScheme } from '../transport/broker-package.js';
import type { ResultBackend } from './result-backend.js';

/** What a package exports so that a result-backend URL can open its backend. */
export interface ResultBackendModule {
  createResultBackendFromUrl(url: string): ResultBackend;
}

/**
 * URL scheme → package with a Celery-compatible result backend. `memory:` is built into core (one
 * process only). Celery's other backends (rpc://, databases) have no Conveyor counterpart yet.
 */
export const RESULT_BACKEND_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  redis: '@conveyor/redis',
  rediss: '@conveyor/redis',
  'redis+cluster': '@conveyor/redis',
  'redis+sentinel': '@conveyor/redis',
});

/**
 * Opens the result backend a URL names (Celery's `result_backend` setting, e.g.
 * `redis://host:6379/1`), importing its package only now. `option` names the setting in errors.
 */
export async function resultBackendFromUrl(url: string, option = 'resultBackend'): Promise<ResultBackend> {
  const scheme = urlScheme(url);
  if (scheme === 'memory') {
    const { MemoryResultBackend } = await import('./memory-result-backend.js');
    return new MemoryResultBackend();
  }
  const packageName = scheme === undefined ? undefined : RESULT_BACKEND_PACKAGES[scheme];
  if (scheme === undefined || packageName === undefined) {
    throw new InvalidOptionError(
      option,
      `${scheme === undefined ? 'expected a URL' : `unknown result backend scheme "${scheme}:"`}; known: memory, ${Object.keys(RESULT_BACKEND_PACKAGES).join(', ')}`,
    );
  }
  const mod = await importBrokerPackage<ResultBackendModule>(scheme, packageName);
  if (typeof mod.createResultBackendFromUrl !== 'function') {
    throw new InvalidOptionError(option, `${packageName} does not export createResultBackendFromUrl()`);
  }
  return mod.createResultBackendFromUrl(url);
}
