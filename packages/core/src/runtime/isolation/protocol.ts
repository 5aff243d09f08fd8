import type { JsonValue } from '../../message/json-value.js';
import type { WireError } from './wire-error.js';

/** What a runner knows of the attempt it runs: the TaskContext without its signal. */
export interface RunnerContext {
  id: string;
  name: string;
  retries: number;
  deliveryCount: number;
  kwargs: Record<string, unknown>;
  headers: Record<string, JsonValue>;
}

/** Worker to runner. */
export type ToRunner =
  | { type: 'run'; job: number; task: string; args: unknown[]; context: RunnerContext }
  /** Aborts the handler's signal (soft time limit, forced shutdown) with this reason. */
  | { type: 'abort'; job: number; reason: WireError };

/** Runner to worker. */
export type FromRunner =
  /** The tasks module is loaded; these are the names it exports. */
  | { type: 'ready'; tasks: string[] }
  /** The tasks module could not be loaded or has no tasks; the runner exits. */
  | { type: 'load-failed'; error: WireError }
  | { type: 'done'; job: number; ok: true; result: unknown }
  | { type: 'done'; job: number; ok: false; error: WireError }
  /** A process runner's last word before it exits on an uncaught exception. */
  | { type: 'fatal'; error: WireError };

/** What a thread runner gets as workerData, and a process runner as its one argument (JSON). */
export interface RunnerData {
  tasksModule: string;
}
