import { writeSync } from 'node:fs';
import { defineTask, type Task } from '@conveyor/core';

/** The task every meant-to-succeed message runs: it records its completion. */
export const WORK_TASK = 'chaos.work';
/** The task of the meant-to-fail messages: it throws, with no retries, so it must be dead-lettered. */
export const FAIL_TASK = 'chaos.fail';
/** Work per task (an I/O wait), so that a run spans its faults and each worker holds deliveries in flight. */
const WORK_MS = 20;

/**
 * The tasks of a worker process. A completion is one line `<n> <worker label> <epoch ms>` written
 * with one write(2) to a file opened O_APPEND, before the handler returns: a SIGKILL cannot lose
 * or tear a record of a task that completed, so a task missing from every file never completed.
 */
export function chaosTasks(completionFd: number, label: string): Task[] {
  const work = defineTask({
    name: WORK_TASK,
    ignoreResult: true,
    retry: { maxRetries: 0 },
    handler: async ([n]: [number]) => {
      await new Promise((resolve) => setTimeout(resolve, WORK_MS));
      writeSync(completionFd, `${n} ${label} ${Date.now()}\n`);
    },
  });
  const fail = defineTask({
    name: FAIL_TASK,
    ignoreResult: true,
    retry: { maxRetries: 0 },
    handler: ([n]: [number]) => {
      throw new Error(`chaos task ${n} is meant to fail`);
    },
  });
  return [work as Task, fail as Task];
}
