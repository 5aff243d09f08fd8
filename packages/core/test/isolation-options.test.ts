import { describe, expect, it } from 'vitest';
import { defineTask, type IsolationOptions, MemoryTransport, tasksOfModule, Worker } from '../src/index.js';
import { uniqueBroker } from './helpers.js';

const TASKS_MODULE = new URL('./fixtures/isolation/tasks.mjs', import.meta.url);
const task = defineTask({ name: 'iso.add', handler: ([a, b]: [number, number]) => a + b });

function workerWith(isolation: unknown): Worker {
  return new Worker({
    transport: new MemoryTransport({ broker: uniqueBroker() }),
    tasks: [task],
    isolation: isolation as IsolationOptions,
  });
}

describe('Worker isolation option', () => {
  it('refuses bad values at construction, naming the option', () => {
    const cases: [unknown, string, RegExp][] = [
      ['thread', 'isolation', /must be an object/],
      [
        { mode: 'fork', tasksModule: TASKS_MODULE },
        'isolation.mode',
        /must be 'thread' or 'process', got "fork"/,
      ],
      [{ tasksModule: TASKS_MODULE }, 'isolation.mode', /got undefined/],
      [{ mode: 'thread' }, 'isolation.tasksModule', /file path or a file: URL/],
      [{ mode: 'thread', tasksModule: '' }, 'isolation.tasksModule', /file path or a file: URL/],
      [
        { mode: 'thread', tasksModule: './no/such/tasks.js' },
        'isolation.tasksModule',
        /no such file: .*tasks\.js/,
      ],
      [
        { mode: 'process', tasksModule: new URL('https://example.com/tasks.js') },
        'isolation.tasksModule',
        /must be a file/,
      ],
      [
        { mode: 'thread', tasksModule: new URL('./fixtures/isolation/', import.meta.url) },
        'isolation.tasksModule',
        /not a file/,
      ],
      [
        { mode: 'thread', tasksModule: TASKS_MODULE, maxOldGenerationSizeMb: 0 },
        'isolation.maxOldGenerationSizeMb',
        /integer >= 1/,
      ],
      [
        { mode: 'thread', tasksModule: TASKS_MODULE, maxOldGenerationSizeMb: 1.5 },
        'isolation.maxOldGenerationSizeMb',
        /integer >= 1/,
      ],
      [{ mode: 'thread', tasksModule: TASKS_MODULE, timeoutMs: 5 }, 'isolation.timeoutMs', /unknown/],
    ];
    for (const [value, option, message] of cases) {
      expect(() => workerWith(value), option).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', option, message: expect.stringMatching(message) }),
      );
    }
  });

  it('accepts a file URL, an absolute path, a relative path and a file: URL string', () => {
    const path = TASKS_MODULE.pathname;
    for (const tasksModule of [TASKS_MODULE, path, TASKS_MODULE.href]) {
      expect(() => workerWith({ mode: 'thread', tasksModule })).not.toThrow();
    }
    const relative = `./${new URL(TASKS_MODULE).pathname.slice(process.cwd().length + 1)}`;
    expect(() => workerWith({ mode: 'process', tasksModule: relative })).not.toThrow();
  });
});

describe('tasksOfModule', () => {
  const other = defineTask({ name: 'other', handler: () => 1 });

  it('collects named exports, a default array and a default plain object, each task once', () => {
    expect(tasksOfModule({ task, other, alias: task, notATask: 3 }, 'm.js')).toEqual({
      tasks: [task, other],
      problem: undefined,
    });
    expect(tasksOfModule({ default: [task, other] }, 'm.js').tasks).toEqual([task, other]);
    expect(tasksOfModule({ default: { task, other, version: 2 } }, 'm.js').tasks).toEqual([task, other]);
  });

  it('says which module has no tasks, or which default array item is not one', () => {
    expect(tasksOfModule({ x: 1 }, 'm.js')).toEqual({
      tasks: [],
      problem:
        'no tasks found in m.js: export tasks made with defineTask() (named exports, or a default export that is an array of tasks)',
    });
    expect(tasksOfModule({ default: [task, { name: 'fake' }] }, 'm.js').problem).toBe(
      'the default export of m.js is an array whose item 1 is not a task (made with defineTask())',
    );
  });
});
