export { type TaskState, READY_STATES } from './task-state.js';
export { type ResultMeta, exceptionInfo } from './result-meta.js';
export type { ResultBackend, WaitOptions } from './result-backend.js';
export { MemoryResultBackend, type MemoryResultBackendOptions } from './memory-result-backend.js';
