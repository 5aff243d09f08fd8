import { isTask, type Task } from '../task.js';

/** The tasks a module exports, or why it has none to offer. */
export interface ModuleTasks {
  tasks: Task[];
  /** Set when the module cannot be used; names the module as `shown`, e.g. "the default export of tasks.js ...". */
  problem: string | undefined;
}

/**
 * The tasks in a module's namespace: every export for which isTask() is true, every task of a
 * default export that is an array, and every task value of a default export that is a plain object
 * (a CommonJS `module.exports = { ... }`). The same task exported twice counts once. `shown` names
 * the module in the problem. One convention for `conveyor worker --tasks` and isolated runners.
 */
export function tasksOfModule(namespace: Readonly<Record<string, unknown>>, shown: string): ModuleTasks {
  const tasks: Task[] = [];
  const add = (value: unknown): void => {
    if (isTask(value) && !tasks.includes(value)) tasks.push(value);
  };
  for (const [name, value] of Object.entries(namespace)) {
    if (isTask(value)) add(value);
    else if (name === 'default' && Array.isArray(value)) {
      const index = value.findIndex((item) => !isTask(item));
      if (index >= 0) {
        return {
          tasks: [],
          problem: `the default export of ${shown} is an array whose item ${index} is not a task (made with defineTask())`,
        };
      }
      value.forEach(add);
    } else if (name === 'default' && isPlainObject(value)) {
      for (const item of Object.values(value)) add(item);
    }
  }
  if (tasks.length === 0) {
    return {
      tasks,
      problem: `no tasks found in ${shown}: export tasks made with defineTask() (named exports, or a default export that is an array of tasks)`,
    };
  }
  return { tasks, problem: undefined };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
