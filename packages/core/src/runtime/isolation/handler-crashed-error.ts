import { ConveyorError } from '../../errors/conveyor-error.js';
import type { IsolationMode } from './isolation-options.js';

/**
 * An isolated handler's thread or process died before it settled its task: `process.exit()`, an
 * uncaught exception outside the handler's promise, running out of memory, or a signal. Only that
 * task fails; the worker retries or dead-letters it by the task's retry policy, like any error.
 */
export class HandlerCrashedError extends ConveyorError {
  /** Where the handler ran. */
  readonly isolation: IsolationMode;
  /** The runner's exit code, when it exited (rather than being killed by a signal). */
  readonly exitCode: number | null;
  /** The signal that killed a process runner (SIGKILL, SIGABRT...), when one did. */
  readonly signal: string | null;

  constructor(
    isolation: IsolationMode,
    exit: { exitCode: number | null; signal: string | null; detail?: string | undefined },
  ) {
    const runner = isolation === 'thread' ? 'worker thread' : 'process';
    const how =
      exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.exitCode)}`;
    super(
      'HANDLER_CRASHED',
      `handler crashed: its ${runner} ${how}${exit.detail ? ` (${exit.detail})` : ''}`,
    );
    this.isolation = isolation;
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
  }
}
