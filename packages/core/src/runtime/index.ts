export {
  Client,
  type ClientEvents,
  type ClientOptions,
  type DelayedDelivery,
  type SendOptions,
  validateArgs,
} from './client.js';
export {
  HandlerCrashedError,
  type IsolationMode,
  type IsolationOptions,
  type ModuleTasks,
  tasksOfModule,
} from './isolation/index.js';
export { DEFAULT_PUBLISH_RETRY } from './publish-with-retry.js';
export { type GetResultOptions, ResultHandle } from './result-handle.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, resolveRetryPolicy, retryDelayMs } from './retry-policy.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export {
  defineTask,
  isTask,
  type Task,
  type TaskDefinition,
  type TaskDefinitionWithSchema,
  type TaskOptions,
  type TimeLimits,
} from './task.js';
export type { TaskContext } from './task-context.js';
export { type Listener, TypedEmitter } from './typed-emitter.js';
export { Worker, type WorkerOptions } from './worker.js';
export type { ShutdownReport, WorkerEvents } from './worker-events.js';
