import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from './errors.js';

/**
 * Imports a module named on the command line (`--require`, `--harness`): a path (`./x.mjs`,
 * `../x.js`, `/abs/x.js`) is resolved from `cwd`; anything else is a package name, with an optional
 * subpath (`@acme/conveyor-nats`, `@acme/conveyor-nats/harness`), resolved from `cwd` the way
 * Node resolves it for a file there (the application's node_modules, not the CLI's), then from the
 * CLI's own location (a CLI installed beside the package). Every failure is a CliError whose
 * message starts with the option.
 */
export async function importModule(
  specifier: string,
  cwd: string,
  option: string,
): Promise<Record<string, unknown>> {
  const url = isPath(specifier)
    ? await fileUrlOf(specifier, cwd, option)
    : packageUrlOf(specifier, cwd, option);
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (url === specifier && isNotFound(error, specifier)) {
      throw new CliError(
        'INVALID_OPTION',
        `${option}: cannot find the package ${specifier} from ${cwd}: install it there, or give a path such as ./node_modules/${specifier}/dist/index.js`,
      );
    }
    const code = (error as { code?: unknown } | null)?.code;
    const typeScript = code === 'ERR_UNKNOWN_FILE_EXTENSION' && /^\.[mc]?tsx?$/.test(extname(specifier));
    const detail = typeScript
      ? 'Node cannot load TypeScript directly; compile it and give the .js file (or run the CLI with: node --import tsx)'
      : describe(error);
    throw new CliError('INVALID_OPTION', `${option}: cannot import ${specifier}: ${detail}`, {
      cause: error,
    });
  }
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier);
}

async function fileUrlOf(specifier: string, cwd: string, option: string): Promise<string> {
  const file = resolve(cwd, specifier);
  const info = await stat(file).catch(() => undefined);
  const shown = relative(cwd, file) || file;
  if (!info) throw new CliError('INVALID_OPTION', `${option}: no such file: ${shown}`);
  if (!info.isFile()) throw new CliError('INVALID_OPTION', `${option}: not a file: ${shown}`);
  return pathToFileURL(file).href;
}

/**
 * The file URL of a package resolved from `cwd`, or the bare name when it is not found there (the
 * import then tries the CLI's own location). Resolution follows the package's `exports` with the
 * `require`/`default` conditions, so an entry published only under `import` is not found this way.
 */
function packageUrlOf(specifier: string, cwd: string, option: string): string {
  try {
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(specifier)).href;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND') return specifier;
    throw new CliError(
      'INVALID_OPTION',
      `${option}: cannot resolve ${specifier} from ${cwd}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
}

function isNotFound(error: unknown, specifier: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(specifier);
}

/** `Name: message`, so that the CLI does not print the same cause again on a second line. */
function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s*\n\s*/g, ' ');
}
