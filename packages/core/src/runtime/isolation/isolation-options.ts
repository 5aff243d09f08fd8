import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidOptionError } from '../../errors/transport-errors.js';

/** Where isolated handlers run: a worker thread each, or a child process each. */
export type IsolationMode = 'thread' | 'process';

/**
 * The Worker's `isolation` option: run each handler in a pool of worker threads or child
 * processes, so that a handler that blocks its event loop or kills its process fails only its own
 * task. Handlers cannot cross into a thread or process, so the runners import them from
 * `tasksModule`, which must export the tasks the Worker runs (by name) the way
 * `conveyor worker --tasks` expects them.
 */
export interface IsolationOptions {
  /**
   * `thread`: node:worker_threads, cheap to start, shares the process (a hard time limit stops
   * JavaScript, not a native call that never returns). `process`: node:child_process, a process
   * each, killed with SIGKILL at the hard time limit whatever it is doing.
   */
  mode: IsolationMode;
  /** The module exporting the tasks: a file path (relative paths from the current directory) or a file: URL. */
  tasksModule: string | URL;
  /**
   * Heap limit of each runner in MB; a handler that goes over it fails with HandlerCrashedError
   * and the runner is replaced. Default: Node's own limit.
   */
  maxOldGenerationSizeMb?: number;
}

/** The option once checked: the module as a file: URL. */
export interface ResolvedIsolation {
  readonly mode: IsolationMode;
  readonly tasksModule: URL;
  readonly maxOldGenerationSizeMb: number | undefined;
}

const KNOWN = new Set(['mode', 'tasksModule', 'maxOldGenerationSizeMb']);

/** Checks the `isolation` option; every problem is an InvalidOptionError naming `isolation.<key>`. */
export function resolveIsolation(value: IsolationOptions, cwd = process.cwd()): ResolvedIsolation {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('isolation', "must be an object such as { mode: 'thread', tasksModule }");
  }
  for (const key of Object.keys(value)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`isolation.${key}`, 'unknown isolation option');
  }
  const { mode, tasksModule, maxOldGenerationSizeMb } = value;
  if (mode !== 'thread' && mode !== 'process') {
    throw new InvalidOptionError('isolation.mode', `must be 'thread' or 'process', got ${describe(mode)}`);
  }
  if (
    maxOldGenerationSizeMb !== undefined &&
    !(Number.isInteger(maxOldGenerationSizeMb) && maxOldGenerationSizeMb >= 1)
  ) {
    throw new InvalidOptionError(
      'isolation.maxOldGenerationSizeMb',
      `must be an integer >= 1 (MB), got ${describe(maxOldGenerationSizeMb)}`,
    );
  }
  return { mode, tasksModule: moduleUrl(tasksModule, cwd), maxOldGenerationSizeMb };
}

/** The module as a file: URL, checked to be a file now rather than in every runner later. */
function moduleUrl(value: unknown, cwd: string): URL {
  let url: URL;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && value.trim() !== '') {
    url = value.startsWith('file:')
      ? new URL(value)
      : pathToFileURL(isAbsolute(value) ? value : resolve(cwd, value));
  } else {
    throw new InvalidOptionError(
      'isolation.tasksModule',
      `must be a file path or a file: URL of the module exporting the tasks, got ${describe(value)}`,
    );
  }
  if (url.protocol !== 'file:') {
    throw new InvalidOptionError(
      'isolation.tasksModule',
      `must be a file (runners import it by path), got ${url.href}`,
    );
  }
  const file = fileURLToPath(url);
  const info = statSync(file, { throwIfNoEntry: false });
  if (info === undefined) throw new InvalidOptionError('isolation.tasksModule', `no such file: ${file}`);
  if (!info.isFile()) throw new InvalidOptionError('isolation.tasksModule', `not a file: ${file}`);
  return url;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}
