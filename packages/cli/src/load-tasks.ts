import { stat } from 'node:fs/promises';
import { extname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTask, type Task } from '@conveyor/core';
import { UsageError } from './errors.js';

/** Tasks found in a module, and the file they came from. */
export interface LoadedTasks {
  tasks: Task[];
  /** Absolute path of the module. */
  file: string;
}

/**
 * Imports the module at `specifier` (resolved from `cwd`) and collects its tasks: every export
 * for which isTask() is true, every task of a default export that is an array, and every task
 * value of a default export that is a plain object (a CommonJS `module.exports = { ... }`).
 * The same task exported twice counts once.
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

  const found: Task[] = [];
  const add = (value: unknown): void => {
    if (isTask(value) && !found.includes(value)) found.push(value);
  };
  for (const [name, value] of Object.entries(mod)) {
    if (isTask(value)) add(value);
    else if (name === 'default' && Array.isArray(value)) {
      value.forEach((item, index) => {
        if (!isTask(item)) {
          throw new UsageError(
            `--tasks: the default export of ${shown} is an array whose item ${index} is not a task (made with defineTask())`,
          );
        }
        add(item);
      });
    } else if (name === 'default' && isPlainObject(value)) {
      for (const item of Object.values(value)) add(item);
    }
  }
  if (found.length === 0) {
    throw new UsageError(
      `--tasks: no tasks found in ${shown}: export tasks made with defineTask() (named exports, or a default export that is an array of tasks)`,
    );
  }
  return { tasks: found, file };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Prefixes an error's message with what the CLI was doing, keeping its class and stack. */
function withContext(error: unknown, context: string): unknown {
  if (error instanceof Error) {
    error.message = `${context}: ${error.message}`;
    return error;
  }
  return new Error(`${context}: ${String(error)}`, { cause: error });
}
