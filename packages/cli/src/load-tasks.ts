import { stat } from 'node:fs/promises';
import { extname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Task, tasksOfModule } from '@conveyor/core';
import { UsageError } from './errors.js';

/** Tasks found in a module, and the file they came from. */
export interface LoadedTasks {
  tasks: Task[];
  /** Absolute path of the module. */
  file: string;
}

/**
 * Imports the module at `specifier` (resolved from `cwd`) and collects its tasks by core's
 * tasksOfModule convention (named exports, a default array or plain object), the same one an
 * isolated worker's runners use to load them.
 */
export async function loadTasks(specifier: string, cwd: string): Promise<LoadedTasks> {
  const file = resolve(cwd, specifier);
  const shown = relative(cwd, file) || file;
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new UsageError(`--tasks: no such file: ${shown}`);
  if (!info.isFile())
    throw new UsageError(`--tasks: not a file: ${shown} (give the module file, e.g. ${shown}/index.js)`);

  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && ['.ts', '.mts', '.cts', '.tsx'].includes(extname(file))) {
      throw new UsageError(
        `--tasks: cannot import ${shown}: Node cannot load TypeScript directly; compile it and pass the .js file (or run the CLI with: node --import tsx)`,
      );
    }
    throw withContext(error, `cannot load tasks from ${shown}`);
  }

  const { tasks, problem } = tasksOfModule(mod, shown);
  if (problem !== undefined) throw new UsageError(`--tasks: ${problem}`);
  return { tasks, file };
}

/** Prefixes an error's message with what the CLI was doing, keeping its class and stack. */
function withContext(error: unknown, context: string): unknown {
  if (error instanceof Error) {
    error.message = `${context}: ${error.message}`;
    return error;
  }
  return new Error(`${context}: ${String(error)}`, { cause: error });
}
