import { describe, expect, it, vi } from 'vitest';
import {
  exceptionInfo,
  InvalidOptionError,
  MemoryResultBackend,
  READY_STATES,
  ResultHandle,
  type ResultMeta,
  ResultTimeoutError,
  SoftTimeLimitExceededError,
  TaskFailedError,
  TaskRevokedError,
  TimeLimitExceededError,
  UnknownTaskError,
} from '../src/index.js';
import { pause } from './helpers.js';

function meta(taskId: string, status: ResultMeta['status'], result: unknown = null): ResultMeta {
  return {
    status,
    result,
    traceback: null,
    children: [],
    date_done: READY_STATES.has(status) ? '2026-11-24T02:11:58.916479+00:00' : null,
    task_id: taskId,
  };
}

describe('MemoryResultBackend', () => {
  it('returns null (PENDING) for a task it knows nothing about', async () => {
    expect(await new MemoryResultBackend().get('unknown')).toBeNull();
  });

  it('stores and returns the document', async () => {
    const backend = new MemoryResultBackend();
    await backend.store(meta('t1', 'SUCCESS', 5));
    expect(await backend.get('t1')).toEqual(meta('t1', 'SUCCESS', 5));
  });

  it('never overwrites a stored SUCCESS', async () => {
    const backend = new MemoryResultBackend();
    await backend.store(meta('t1', 'SUCCESS', 5));
    await backend.store(
      meta('t1', 'FAILURE', { exc_type: 'ValueError', exc_message: [], exc_module: 'builtins' }),
    );
    await backend.store(meta('t1', 'RETRY'));
    expect((await backend.get('t1'))?.status).toBe('SUCCESS');
  });

  it('lets later states replace earlier non-success ones', async () => {
    const backend = new MemoryResultBackend();
    await backend.store(meta('t1', 'STARTED'));
    await backend.store(meta('t1', 'RETRY'));
    await backend.store(meta('t1', 'FAILURE'));
    expect((await backend.get('t1'))?.status).toBe('FAILURE');
  });

  it('resolves waitFor at once when the task is already ready', async () => {
    const backend = new MemoryResultBackend();
    await backend.store(meta('t1', 'REVOKED'));
    await expect(backend.waitFor('t1', { timeoutMs: 10_000 })).resolves.toMatchObject({ status: 'REVOKED' });
  });

  it('wakes waiters on a ready state only, not on STARTED or RETRY', async () => {
    const backend = new MemoryResultBackend();
    let settled = false;
    const waiting = backend.waitFor('t1', { timeoutMs: 10_000 }).then((m) => {
      settled = true;
      return m;
    });
    await backend.store(meta('t1', 'STARTED'));
    await backend.store(meta('t1', 'RETRY'));
    await pause(10);
    expect(settled).toBe(false);
    await backend.store(meta('t1', 'SUCCESS', 'done'));
    await expect(waiting).resolves.toMatchObject({ status: 'SUCCESS', result: 'done' });
  });

  it('wakes every waiter of the same task', async () => {
    const backend = new MemoryResultBackend();
    const waiters = [1, 2, 3].map(() => backend.waitFor('t1', { timeoutMs: 10_000 }));
    await backend.store(meta('t1', 'SUCCESS', 1));
    expect((await Promise.all(waiters)).map((m) => m.result)).toEqual([1, 1, 1]);
  });

  it('rejects waitFor with ResultTimeoutError when nothing ready arrives in time', async () => {
    const backend = new MemoryResultBackend();
    const error = await backend.waitFor('t1', { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultTimeoutError);
    expect(error).toMatchObject({ taskId: 't1', retryable: true, code: 'RESULT_TIMEOUT' });
  });

  it('rejects waitFor with the abort reason of its signal', async () => {
    const backend = new MemoryResultBackend();
    const controller = new AbortController();
    const waiting = backend.waitFor('t1', { timeoutMs: 10_000, signal: controller.signal });
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('keeps a result for resultExpiresMs and forgets it then (on a fake clock, not the wall clock)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const backend = new MemoryResultBackend({ resultExpiresMs: 20 });
      await backend.store(meta('t1', 'SUCCESS', 1));
      vi.advanceTimersByTime(19);
      expect(await backend.get('t1')).not.toBeNull();
      await expect(backend.waitFor('t1', { timeoutMs: 10_000 })).resolves.toMatchObject({ result: 1 });
      vi.advanceTimersByTime(1);
      expect(await backend.get('t1')).toBeNull();
      // Forgotten means PENDING again: a new store is kept, a SUCCESS that expired blocks nothing.
      await backend.store(meta('t1', 'FAILURE'));
      expect((await backend.get('t1'))?.status).toBe('FAILURE');
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([[0], [-1], [Number.NaN]])('refuses resultExpiresMs %s', (resultExpiresMs) => {
    expect(() => new MemoryResultBackend({ resultExpiresMs })).toThrow(InvalidOptionError);
  });
});

describe('exceptionInfo', () => {
  it('stores a builtin-like error by class name with its message as the args list', () => {
    expect(exceptionInfo(new TypeError('bad type'))).toEqual({
      exc_type: 'TypeError',
      exc_message: ['bad type'],
      exc_module: 'builtins',
    });
  });

  it('maps Conveyor errors to the Celery exceptions Python catches by name', () => {
    expect(exceptionInfo(new TimeLimitExceededError(1000))).toMatchObject({
      exc_type: 'TimeLimitExceeded',
      exc_module: 'celery.exceptions',
    });
    expect(exceptionInfo(new SoftTimeLimitExceededError(1000))).toMatchObject({
      exc_type: 'SoftTimeLimitExceeded',
      exc_module: 'celery.exceptions',
    });
    expect(exceptionInfo(new UnknownTaskError('x'))).toMatchObject({
      exc_type: 'NotRegistered',
      exc_module: 'celery.exceptions',
    });
  });

  it("stores a revocation as Celery does: TaskRevokedError(['expired'])", () => {
    expect(exceptionInfo(new TaskRevokedError('t1', 'expired'))).toEqual({
      exc_type: 'TaskRevokedError',
      exc_message: ['expired'],
      exc_module: 'celery.exceptions',
    });
  });

  it('stores a thrown non-Error as Exception', () => {
    expect(exceptionInfo(42)).toEqual({ exc_type: 'Exception', exc_message: ['42'], exc_module: 'builtins' });
  });
});

describe('ResultHandle', () => {
  it('resolves with the result of a SUCCESS', async () => {
    const backend = new MemoryResultBackend();
    await backend.store(meta('t1', 'SUCCESS', { total: 5 }));
    await expect(new ResultHandle('t1', backend).get()).resolves.toEqual({ total: 5 });
  });

  it('rejects with TaskFailedError carrying the stored exception and traceback for a FAILURE', async () => {
    const backend = new MemoryResultBackend();
    const exception = { exc_type: 'ValueError', exc_message: ['bad thing', 42], exc_module: 'builtins' };
    await backend.store({ ...meta('t1', 'FAILURE', exception), traceback: 'Traceback...' });
    const error = (await new ResultHandle('t1', backend).get().catch((e: unknown) => e)) as TaskFailedError;
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.exception).toEqual(exception);
    expect(error.traceback).toBe('Traceback...');
    expect(error.message).toContain('ValueError: bad thing, 42');
  });

  it('rejects with TaskRevokedError for a REVOKED task, written by Python or by Conveyor', async () => {
    const backend = new MemoryResultBackend();
    await backend.store(
      meta('t1', 'REVOKED', {
        exc_type: 'TaskRevokedError',
        exc_message: ['revoked'],
        exc_module: 'celery.exceptions',
      }),
    );
    const error = (await new ResultHandle('t1', backend).get().catch((e: unknown) => e)) as TaskRevokedError;
    expect(error).toBeInstanceOf(TaskRevokedError);
    expect(error.why).toBe('revoked');
  });

  it('reports PENDING, then the stored state', async () => {
    const backend = new MemoryResultBackend();
    const handle = new ResultHandle('t1', backend);
    expect(await handle.state()).toBe('PENDING');
    await backend.store(meta('t1', 'STARTED'));
    expect(await handle.state()).toBe('STARTED');
  });

  it('times out with ResultTimeoutError', async () => {
    const handle = new ResultHandle('t1', new MemoryResultBackend());
    await expect(handle.get({ timeout: 10 })).rejects.toBeInstanceOf(ResultTimeoutError);
  });
});
