export { HandlerCrashedError } from './handler-crashed-error.js';
export type { IsolationMode, IsolationOptions } from './isolation-options.js';
export { type ModuleTasks, tasksOfModule } from './tasks-of-module.js';
