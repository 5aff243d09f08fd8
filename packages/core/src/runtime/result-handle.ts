import { ConveyorError } from '../errors/conveyor-error.js';
import { type ExceptionInfo, TaskFailedError, TaskRevokedError } from '../errors/task-errors.js';
import type { ResultBackend } from '../results/result-backend.js';
import type { TaskState } from '../results/task-state.js';

/** Options of `ResultHandle.get`. */
export interface GetResultOptions {
  /** Give up after this many ms with ResultTimeoutError. Default 30 s. */
  timeout?: number;
  signal?: AbortSignal;
}

/** A sent task's result, read from the result backend. */
export class ResultHandle<Result = unknown> {
  readonly id: string;
  readonly #backend: ResultBackend | undefined;

  constructor(id: string, backend: ResultBackend | undefined) {
    this.id = id;
    this.#backend = backend;
  }

  /**
   * Waits for the final state: resolves with the result on SUCCESS, rejects with TaskFailedError
   * (carrying exc_type, exc_message, exc_module) on FAILURE and TaskRevokedError on REVOKED.
   */
  async get(options: GetResultOptions = {}): Promise<Result> {
    const meta = await this.#requireBackend().waitFor(this.id, {
      timeoutMs: options.timeout ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (meta.status === 'SUCCESS') return meta.result as Result;
    const exception = meta.result as ExceptionInfo;
    if (meta.status === 'REVOKED') {
      throw new TaskRevokedError(this.id, String(exception?.exc_message?.[0] ?? 'revoked'));
    }
    throw new TaskFailedError(this.id, exception, meta.traceback);
  }

  /** Current state; PENDING when nothing is stored. */
  async state(): Promise<TaskState> {
    const meta = await this.#requireBackend().get(this.id);
    return meta?.status ?? 'PENDING';
  }

  #requireBackend(): ResultBackend {
    if (!this.#backend) {
      throw new ConveyorError(
        'INVALID_OPTION',
        'no result backend: pass `results` to the Client to read results',
      );
    }
    return this.#backend;
  }
}
