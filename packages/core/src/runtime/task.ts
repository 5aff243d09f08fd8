import { InvalidOptionError } from '../errors/transport-errors.js';
import type { RetryPolicy } from './retry-policy.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { TaskContext } from './task-context.js';

/** Soft and hard time limits of one attempt. */
export interface TimeLimits {
  /** The handler's signal aborts with SoftTimeLimitExceededError after this long. */
  softMs?: number;
  /** The attempt fails with TimeLimitExceededError after this long. */
  hardMs?: number;
}

/** Options shared by every definition form. */
export interface TaskOptions {
  /** Registered name; Python's default is `module.function`, e.g. `tasks.add`. */
  name: string;
  /** Queue the client routes it to. Default: the client's default queue (`celery`). */
  queue?: string;
  retry?: Partial<RetryPolicy>;
  timeLimit?: TimeLimits;
  /** Store no result (Celery's `ignore_result`). */
  ignoreResult?: boolean;
  /** Default priority level. */
  priority?: number;
  /**
   * Deliveries a message of this task may have without being settled (the handler killed its
   * worker, the lease ran out) before the worker dead-letters it. Default: the worker's
   * `maxDeliveries`.
   */
  maxDeliveries?: number;
}

/**
 * A task: its name, typed arguments and result, and how a worker runs it. `Args` is what the
 * handler receives; `Input` is what `client.send` accepts (they differ only when a schema
 * transforms its input, e.g. zod's `.transform`).
 */
export interface Task<Args extends unknown[] = unknown[], Result = unknown, Input extends unknown[] = Args>
  extends Readonly<TaskOptions> {
  /** Runs one attempt. (Method syntax keeps Task<[number], number> assignable to Task.) */
  handler(args: Args, context: TaskContext): Result | Promise<Result>;
  /** Validates the args array, when given (Standard Schema: zod, valibot, arktype...). */
  readonly schema: StandardSchemaV1<unknown, Args> | undefined;
  /** Phantom field carrying the types for `client.send`; never set at run time. */
  readonly __types?: { args: Args; input: Input; result: Result };
}

/** Definition with a schema: args are inferred from it and validated at send and at run. */
export interface TaskDefinitionWithSchema<Schema extends StandardSchemaV1<unknown, unknown[]>, Result>
  extends TaskOptions {
  schema: Schema;
  handler: (args: StandardSchemaV1.InferOutput<Schema>, context: TaskContext) => Result | Promise<Result>;
}

/** Definition without a schema: args are whatever the handler declares. */
export interface TaskDefinition<Args extends unknown[], Result> extends TaskOptions {
  handler: (args: Args, context: TaskContext) => Result | Promise<Result>;
}

/**
 * Defines a task. The name is what travels on the wire (and what Python Celery registers);
 * the handler gets the args array and a context with the AbortSignal and task metadata.
 */
export function defineTask<Schema extends StandardSchemaV1<unknown, unknown[]>, Result>(
  definition: TaskDefinitionWithSchema<Schema, Result>,
): Task<
  StandardSchemaV1.InferOutput<Schema> & unknown[],
  Awaited<Result>,
  StandardSchemaV1.InferInput<Schema> & unknown[]
>;
export function defineTask<Args extends unknown[], Result>(
  definition: TaskDefinition<Args, Result>,
): Task<Args, Awaited<Result>>;
export function defineTask(
  definition: TaskDefinition<unknown[], unknown> & { schema?: StandardSchemaV1<unknown, unknown[]> },
): Task {
  if (typeof definition?.name !== 'string' || definition.name.trim() === '') {
    throw new InvalidOptionError('name', 'a task needs a non-empty name');
  }
  if (typeof definition.handler !== 'function') {
    throw new InvalidOptionError('handler', `task "${definition.name}" needs a handler function`);
  }
  if (definition.schema !== undefined && typeof definition.schema?.['~standard']?.validate !== 'function') {
    throw new InvalidOptionError('schema', `task "${definition.name}": schema is not a Standard Schema`);
  }
  const limits = definition.timeLimit;
  for (const key of ['softMs', 'hardMs'] as const) {
    const value = limits?.[key];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InvalidOptionError(
        `timeLimit.${key}`,
        `task "${definition.name}": must be a positive number of ms`,
      );
    }
  }
  if (definition.maxDeliveries !== undefined) {
    checkMaxDeliveries(definition.maxDeliveries, 'maxDeliveries', `task "${definition.name}": `);
  }
  return Object.freeze({ ...definition, schema: definition.schema }) as Task;
}

/** True for objects made by defineTask (used to find tasks in a module's exports). */
export function isTask(value: unknown): value is Task {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Task).name === 'string' &&
    typeof (value as Task).handler === 'function' &&
    'schema' in value
  );
}

/** A delivery limit is a whole number of deliveries, at least 1, or Infinity for none. */
export function checkMaxDeliveries(value: number, option: string, context = ''): void {
  if (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= 1)) return;
  throw new InvalidOptionError(option, `${context}must be an integer >= 1 or Infinity, got ${String(value)}`);
}
