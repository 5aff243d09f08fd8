import { listOption } from './args.js';
import { importModule } from './import-module.js';
import type { Io } from './output.js';

/** Environment variable read when `--require` is not given: modules, comma-separated. */
export const REQUIRE_ENV = 'CONVEYOR_REQUIRE';

/** The `--require` option, the same on every command that opens a broker. */
export const REQUIRE_OPTION = {
  type: 'string',
  multiple: true,
  placeholder: 'MODULE',
  description:
    'import MODULE before anything else (a package name or a ./path), e.g. a transport package that ' +
    `registers its URL scheme; repeat it or give a comma list (default: $${REQUIRE_ENV})`,
} as const;

/**
 * Imports the `--require` modules (or those of $CONVEYOR_REQUIRE), in order, before the command
 * looks at its broker URL: a module that calls `registerTransport(scheme, factory)` when imported
 * makes its scheme a broker URL like the built-in ones. Returns the modules imported.
 */
export async function importRequiredModules(option: readonly string[], io: Io): Promise<string[]> {
  const modules = listOption(option.length > 0 ? option : [io.env[REQUIRE_ENV] ?? '']);
  for (const specifier of modules) await importModule(specifier, io.cwd, '--require');
  return modules;
}
