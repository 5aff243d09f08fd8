export type { StandardSchemaV1 } from './standard-schema.js';
export {
  defineTask,
  isTask,
  type Task,
  type TaskOptions,
  type TaskDefinition,
  type TaskDefinitionWithSchema,
  type TimeLimits,
} from './task.js';
export type { TaskContext } from './task-context.js';
export { type RetryPolicy, DEFAULT_RETRY_POLICY, resolveRetryPolicy, retryDelayMs } from './retry-policy.js';
export { Client, type ClientOptions, type SendOptions, validateArgs } from './client.js';
export { ResultHandle, type GetResultOptions } from './result-handle.js';
export { Worker, type WorkerOptions } from './worker.js';
export type { WorkerEvents, ShutdownReport } from './worker-events.js';
export { TypedEmitter, type Listener } from './typed-emitter.js';
