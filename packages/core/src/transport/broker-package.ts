import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TransportNotInstalledError } from '../errors/transport-errors.js';

/** The scheme of a URL, lower-cased (`redis+cluster` for `REDIS+CLUSTER://…`), or undefined. */
export function urlScheme(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
}

/**
 * Imports the package of a broker (a transport, or the result backend that lives beside it). Core
 * cannot declare the broker packages as dependencies, and with pnpm's strict layout core's own
 * location does not see the application's packages, so the application's directory
 * (process.cwd()) is tried second. A package found in neither is TransportNotInstalledError.
 */
export async function importBrokerPackage<Module>(
  scheme: string,
  packageName: string,
): Promise<Partial<Module>> {
  try {
    return (await import(packageName)) as Partial<Module>;
  } catch (error) {
    if (!isModuleNotFound(error, packageName)) throw error;
  }
  let resolved: string;
  try {
    resolved = createRequire(join(process.cwd(), 'package.json')).resolve(packageName);
  } catch {
    throw new TransportNotInstalledError(scheme, packageName);
  }
  return (await import(pathToFileURL(resolved).href)) as Partial<Module>;
}

function isModuleNotFound(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String((error as Error).message).includes(packageName)
  );
}
