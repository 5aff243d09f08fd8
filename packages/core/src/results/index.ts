export { MemoryResultBackend, type MemoryResultBackendOptions } from './memory-result-backend.js';
export type { ResultBackend, WaitOptions } from './result-backend.js';
export {
  RESULT_BACKEND_PACKAGES,
  type ResultBackendModule,
  resultBackendFromUrl,
} from './result-backend-url.js';
export { exceptionInfo, type ResultMeta } from './result-meta.js';
export { type PendingWait, ResultWaiters } from './result-waiters.js';
export { READY_STATES, type TaskState } from './task-state.js';
