// The Celery interop cases every Conveyor transport runs against real Python Celery (see vitest.ts for
// the runner). They live here, once, so that "Conveyor and Celery understand each other on broker X"
// means the same checks for every broker; a transport package adds only what is specific to its wire.
// Assertions use vitest's `expect` so a failure shows the usual diff; this module is therefore only
// reachable through the `@conveyor/python-interop/vitest` entry point.

import {
  type Client,
  defineTask,
  PermanentTaskError,
  type Task,
  TaskFailedError,
  type TransportCapabilities,
} from '@conveyor/core';
import { expect } from 'vitest';
import type {
  CeleryConnectionOptions,
  PythonResult,
  SendFromPythonOptions,
  SendFromPythonResult,
} from './celery.js';

/** How long a case waits for a result, on either side. Celery itself answers in well under a second. */
export const INTEROP_RESULT_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_SECONDS = INTEROP_RESULT_TIMEOUT_MS / 1000;

/** What a "Conveyor sends, Python Celery runs" case gets. A Celery worker consumes `queue`. */
export interface ConveyorToCeleryContext {
  /** Sends to `queue` by default and reads results from the Celery result backend. */
  readonly client: Client;
  /**
   * A Client on a transport of its own, for a case that must see what happens once the sender is
   * gone (as `conveyor send` exits right after publishing): `close()` closes that transport. Its
   * results come from the same backend as `client`'s, which stays open.
   */
  openClient(): Promise<{ client: Client; close(): Promise<void> }>;
  /** Capabilities of the transport under test (to use a feature only where it is claimed). */
  readonly capabilities: TransportCapabilities;
  /** The queue the Python Celery worker consumes. */
  readonly queue: string;
}

/** sendFromPython options without the connection, which the runner fills in. */
export type PythonSendOptions = Omit<SendFromPythonOptions, keyof CeleryConnectionOptions>;

/** What a "Python Celery sends, Conveyor runs" case gets. A Conveyor worker consumes `queue`. */
export interface CeleryToConveyorContext {
  /** The queue the Conveyor worker consumes. */
  readonly queue: string;
  /** sendFromPython to `queue` on the broker under test, with the suite's result backend. */
  send(options: PythonSendOptions): Promise<SendFromPythonResult>;
  /** getResultFromPython from the suite's result backend, waiting up to INTEROP_RESULT_TIMEOUT_MS;
   *  with `raw`, `meta` is the stored document (its `date_done` says when the task finished). */
  getResult(id: string, options?: { raw?: boolean }): Promise<PythonResult>;
}

/** Conveyor publishes, a Python Celery worker runs the task. */
export interface ConveyorToCeleryCase {
  readonly direction: 'conveyor-to-celery';
  /** Stable, unique id (used to select cases and to spot duplicates). */
  readonly id: string;
  /** Test title. */
  readonly title: string;
  run(context: ConveyorToCeleryContext): Promise<void>;
}

/** Python Celery publishes, a Conveyor worker runs the task. */
export interface CeleryToConveyorCase {
  readonly direction: 'celery-to-conveyor';
  /** Stable, unique id (used to select cases and to spot duplicates). */
  readonly id: string;
  /** Test title. */
  readonly title: string;
  /** Conveyor tasks the worker must register for this case (merged by name across cases). */
  readonly tasks: readonly Task[];
  run(context: CeleryToConveyorContext): Promise<void>;
}

export type CeleryInteropCase = ConveyorToCeleryCase | CeleryToConveyorCase;

// ---------------------------------------------------------------------------------------------
// Conveyor mirrors of interop/celery_app.py's tasks: same names, same results, so one case can be run
// by either side. `interop.fail` deliberately differs: Conveyor raises PermanentTaskError, so a case
// can tell which side produced the failure.

/** `interop.add(a, b)`: a + b. */
export const interopAdd = defineTask({
  name: 'interop.add',
  handler: ([a, b]: [number, number]) => a + b,
});

/** `interop.echo(*args, **kwargs)`: `{args, kwargs}`, as celery_app.py returns it. */
export const interopEcho = defineTask({
  name: 'interop.echo',
  handler: (args: unknown[], ctx) => ({ args, kwargs: ctx.kwargs }),
});

/** `interop.fail()`: raises PermanentTaskError (no retries, so the failure is stored at once). */
export const interopFail = defineTask({
  name: 'interop.fail',
  handler: () => {
    throw new PermanentTaskError('no way');
  },
});

// ---------------------------------------------------------------------------------------------
// Conveyor sends, Python Celery runs, Conveyor reads the result

export const conveyorSendsAdd: ConveyorToCeleryCase = {
  direction: 'conveyor-to-celery',
  id: 'conveyor-to-celery.add',
  title: 'runs interop.add(2, 3) and Conveyor reads 5 from the Celery result backend',
  async run({ client }) {
    const handle = await client.send('interop.add', [2, 3]);
    await expect(handle.get({ timeout: INTEROP_RESULT_TIMEOUT_MS })).resolves.toBe(5);
  },
};

export const conveyorSendsKwargsAndPriority: ConveyorToCeleryCase = {
  direction: 'conveyor-to-celery',
  id: 'conveyor-to-celery.kwargs-priority',
  title: 'passes kwargs (and a priority where the transport has priorities) through, and Celery echoes them',
  async run({ client, capabilities }) {
    // A priority the transport does not claim is an error by contract (UnsupportedFeatureError), so
    // it is sent only where claimed; 2 (or the highest level) is not the default, so it is really encoded.
    const levels = capabilities.priorityLevels;
    const priority = levels > 0 ? { priority: Math.min(2, levels - 1) } : {};
    const handle = await client.send('interop.echo', ['a', 1], { kwargs: { k: 'v' }, ...priority });
    await expect(handle.get({ timeout: INTEROP_RESULT_TIMEOUT_MS })).resolves.toEqual({
      args: ['a', 1],
      kwargs: { k: 'v' },
    });
  },
};

export const conveyorSendsWideIntegers: ConveyorToCeleryCase = {
  direction: 'conveyor-to-celery',
  id: 'conveyor-to-celery.wide-integers',
  title: 'carries integers Celery reads back exactly (kwargs over 16 bits, a timelimit header over 127)',
  async run({ client }) {
    // 300 and 70 000 do not fit one or two bytes, and the 300 s timelimit is a header: on AMQP these
    // are encoded as typed table values, which py-amqp must decode to the same numbers.
    const handle = await client.send('interop.echo', ['x', 300], {
      kwargs: { big: 70_000 },
      timeLimit: { hardMs: 300_000 },
    });
    await expect(handle.get({ timeout: INTEROP_RESULT_TIMEOUT_MS })).resolves.toEqual({
      args: ['x', 300],
      kwargs: { big: 70_000 },
    });
  },
};

export const conveyorReadsCeleryFailure: ConveyorToCeleryCase = {
  direction: 'conveyor-to-celery',
  id: 'conveyor-to-celery.failure',
  title: 'reads a Python exception as TaskFailedError with exc_type, exc_message and exc_module',
  async run({ client }) {
    const handle = await client.send('interop.fail', []);
    const error = await handle.get({ timeout: INTEROP_RESULT_TIMEOUT_MS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).exception).toMatchObject({
      exc_type: 'ValueError',
      exc_message: ['boom', 42],
      exc_module: 'builtins',
    });
  },
};

/** The countdown of the delayed cases: long enough that running at once cannot pass for waiting. */
export const INTEROP_COUNTDOWN_MS = 2_000;

/**
 * How much earlier than its countdown a finished task may look: the two sides' clocks are the same
 * machine's, but Celery rounds its `eta` and `date_done` to microseconds and Conveyor to ms.
 */
const CLOCK_SLACK_MS = 50;

export const conveyorSendsCountdown: ConveyorToCeleryCase = {
  direction: 'conveyor-to-celery',
  id: 'conveyor-to-celery.countdown',
  title: 'runs a countdown sent by a client that closed right after sending, no earlier than the countdown',
  async run({ client: reader, openClient }) {
    // The sender closes at once, as `conveyor send --countdown` exits: nothing Conveyor is left to
    // release a delay the transport parked, and only the Celery worker consumes the queue.
    const sender = await openClient();
    const sentAt = Date.now();
    let id: string;
    try {
      id = (await sender.client.send('interop.add', [4, 5], { countdownMs: INTEROP_COUNTDOWN_MS })).id;
    } finally {
      await sender.close();
    }
    await expect(reader.result(id).get({ timeout: INTEROP_RESULT_TIMEOUT_MS })).resolves.toBe(9);
    const meta = await reader.results?.get(id);
    expect(meta?.date_done).toEqual(expect.any(String));
    const ranAfterMs = Date.parse(String(meta?.date_done)) - sentAt;
    expect(ranAfterMs).toBeGreaterThanOrEqual(INTEROP_COUNTDOWN_MS - CLOCK_SLACK_MS);
  },
};

// ---------------------------------------------------------------------------------------------
// Python Celery sends, Conveyor runs, Python reads the result

export const celerySendsAdd: CeleryToConveyorCase = {
  direction: 'celery-to-conveyor',
  id: 'celery-to-conveyor.add',
  title: 'runs a task sent by Python; Python reads SUCCESS and the value',
  tasks: [interopAdd],
  async run({ send, getResult }) {
    // Send without waiting, then read through a separate AsyncResult: the result must be findable by
    // id alone, as any Python client would look it up.
    const sent = await send({ task: 'interop.add', args: [20, 22] });
    await expect(getResult(sent.id)).resolves.toMatchObject({ status: 'SUCCESS', result: 42 });
  },
};

export const celerySendsKwargsAndPriority: CeleryToConveyorCase = {
  direction: 'celery-to-conveyor',
  id: 'celery-to-conveyor.kwargs-priority',
  title: 'gets Python kwargs, on a message with a high priority',
  tasks: [interopEcho],
  async run({ send }) {
    // Celery sends priority 9 whether or not the queue has priorities; Conveyor must run it either way.
    const sent = await send({
      task: 'interop.echo',
      args: [1],
      kwargs: { who: 'python' },
      priority: 9,
      waitSeconds: RESULT_TIMEOUT_SECONDS,
    });
    expect(sent).toMatchObject({ status: 'SUCCESS', result: { args: [1], kwargs: { who: 'python' } } });
  },
};

export const celeryReadsConveyorFailure: CeleryToConveyorCase = {
  direction: 'celery-to-conveyor',
  id: 'celery-to-conveyor.failure',
  title: 'stores a Conveyor failure that Python reads as an exception',
  tasks: [interopFail],
  async run({ send }) {
    const sent = await send({ task: 'interop.fail', waitSeconds: RESULT_TIMEOUT_SECONDS });
    expect(sent.status).toBe('FAILURE');
    expect(sent.result).toMatchObject({ exc_type: 'PermanentTaskError' });
  },
};

export const celerySendsCountdown: CeleryToConveyorCase = {
  direction: 'celery-to-conveyor',
  id: 'celery-to-conveyor.countdown',
  title: 'runs a task Python sent with apply_async(countdown=...), no earlier than the countdown',
  tasks: [interopAdd],
  async run({ send, getResult }) {
    // Celery pushes it at once with an `eta` header; the Conveyor worker must hold it back until then.
    const sentAt = Date.now();
    const sent = await send({ task: 'interop.add', args: [6, 7], countdown: INTEROP_COUNTDOWN_MS / 1000 });
    const result = await getResult(sent.id, { raw: true });
    expect(result).toMatchObject({ status: 'SUCCESS', result: 13 });
    const ranAfterMs = Date.parse(String(result.meta?.date_done)) - sentAt;
    expect(ranAfterMs).toBeGreaterThanOrEqual(INTEROP_COUNTDOWN_MS - CLOCK_SLACK_MS);
  },
};

/** Every shared case, in run order. A transport package appends its own to this list. */
export const CELERY_INTEROP_CASES: readonly CeleryInteropCase[] = Object.freeze([
  conveyorSendsAdd,
  conveyorSendsKwargsAndPriority,
  conveyorSendsWideIntegers,
  conveyorReadsCeleryFailure,
  conveyorSendsCountdown,
  celerySendsAdd,
  celerySendsKwargsAndPriority,
  celeryReadsConveyorFailure,
  celerySendsCountdown,
]);
