// vitest entry point (`@conveyor/python-interop/vitest`): runs the shared Celery interop cases of
// interop-cases.ts against one transport, like @conveyor/conformance/vitest does for the transport
// contract. Kept out of the main entry point so the Python harness stays usable without vitest or
// @conveyor/core.

import { Client, type ResultBackend, type Task, type Transport, Worker } from '@conveyor/core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  type CeleryWorker,
  ensurePythonCelery,
  getResultFromPython,
  sendFromPython,
  startCeleryWorker,
} from './celery.js';
import {
  CELERY_INTEROP_CASES,
  type CeleryInteropCase,
  type CeleryToConveyorCase,
  type CeleryToConveyorContext,
  type ConveyorToCeleryCase,
  type ConveyorToCeleryContext,
  INTEROP_RESULT_TIMEOUT_MS,
} from './interop-cases.js';

/** Who uses a transport the suite asks for: the Client that sends to Celery, or the Worker that
 *  runs what Celery sent (a transport may want, e.g., a shorter poll interval for consuming). */
export type InteropRole = 'client' | 'worker';

/** What differs per broker. Everything else (tasks, assertions, timeouts) is the suite's. */
export interface CeleryInteropOptions {
  /** Broker name for the describe titles, e.g. `Redis`, `AMQP`. */
  name: string;
  /** A new, unconnected transport to the broker under test. The suite connects and closes it. */
  createTransport(role: InteropRole): Transport;
  /** The same broker as Python Celery names it (`CELERY_BROKER_URL`), e.g. `redis://127.0.0.1:6379/15`
   *  or `amqp://guest:guest@127.0.0.1:5672//`. */
  brokerUrl: string;
  /** Celery result backend URL (`CELERY_RESULT_BACKEND`), e.g. `redis://127.0.0.1:6379/15`. */
  resultBackendUrl: string;
  /** A Conveyor ResultBackend over the store `resultBackendUrl` names (e.g. RedisResultBackend).
   *  The suite closes it. */
  createResultBackend(): ResultBackend;
  /** Start of the queue names; a direction and a random suffix follow, so runs never share a queue. */
  queuePrefix: string;
  /** Appended to every queue name, after the random part: `.fifo` runs the suite on SQS FIFO queues
   *  (kombu and SQS both recognise a FIFO queue by that ending). Default none. */
  queueSuffix?: string;
  /** Celery `broker_transport_options` for the Python worker and client (CELERY_TRANSPORT_OPTIONS),
   *  e.g. `{ region: 'elasticmq', wait_time_seconds: 1 }` for kombu's SQS transport. Default none. */
  celeryTransportOptions?: Record<string, unknown>;
  /** Removes what a queue left on the broker; called after each direction with the queue it used. */
  cleanup?(queues: readonly string[]): Promise<void>;
  /** Cases to run, in order. Default CELERY_INTEROP_CASES; append broker-specific cases to it. */
  cases?: readonly CeleryInteropCase[];
}

/** Python needs more than the default hook timeout only on a cold setup.sh (pip install). */
const SETUP_TIMEOUT_MS = 600_000;
/** Room for a Celery worker to start (connect, declare, log "ready.") on a loaded CI machine. */
const WORKER_START_TIMEOUT_MS = 120_000;

/**
 * Registers the interop suite in a vitest file: one `describe` per direction, one test per case,
 * against a real Python Celery on the same broker.
 *
 * ```ts
 * describeCeleryInterop({
 *   name: 'Redis',
 *   createTransport: () => new RedisTransport(url),
 *   brokerUrl: url,
 *   resultBackendUrl: url,
 *   createResultBackend: () => new RedisResultBackend(url),
 *   queuePrefix: 'interop',
 * });
 * ```
 */
export function describeCeleryInterop(options: CeleryInteropOptions): void {
  const cases = options.cases ?? CELERY_INTEROP_CASES;
  assertUniqueIds(cases);
  const toCelery = cases.filter((c): c is ConveyorToCeleryCase => c.direction === 'conveyor-to-celery');
  const fromCelery = cases.filter((c): c is CeleryToConveyorCase => c.direction === 'celery-to-conveyor');

  describe(`Celery interop over ${options.name}`, () => {
    const python = new SetUpGate();
    beforeAll(
      python.step(() => ensurePythonCelery()),
      SETUP_TIMEOUT_MS,
    );

    if (toCelery.length > 0) describeConveyorToCelery(options, toCelery, new SetUpGate(python));
    if (fromCelery.length > 0) describeCeleryToConveyor(options, fromCelery, new SetUpGate(python));
  });
}

/**
 * Set-up whose failure fails every test behind it. Vitest reports the tests behind a failed
 * beforeAll as skipped: a summary would then show a missing Python or an unreachable broker as
 * skips, and a suite that must prove interop (in CI above all) would look merely incomplete.
 */
class SetUpGate {
  #failure: { error: unknown } | undefined;
  readonly #parent: SetUpGate | undefined;

  constructor(parent?: SetUpGate) {
    this.#parent = parent;
  }

  #failed(): { error: unknown } | undefined {
    return this.#failure ?? (this.#parent ? this.#parent.#failed() : undefined);
  }

  /** A beforeAll body: runs only if nothing before it failed, and records its own failure. */
  step(body: () => Promise<unknown>): () => Promise<void> {
    return async () => {
      if (this.#failed()) return;
      try {
        await body();
      } catch (error) {
        this.#failure = { error };
      }
    };
  }

  /** A test body: fails with the set-up's error, if any, instead of running. */
  test(body: () => Promise<void>): () => Promise<void> {
    return async () => {
      const failure = this.#failed();
      if (failure) throw failure.error;
      await body();
    };
  }
}

function describeConveyorToCelery(
  options: CeleryInteropOptions,
  cases: readonly ConveyorToCeleryCase[],
  gate: SetUpGate,
): void {
  describe(`Conveyor sends over ${options.name}, Python Celery runs, Conveyor reads the result`, () => {
    const queue = uniqueQueue(options, 'to-python');
    const transport = options.createTransport('client');
    const results = options.createResultBackend();
    const client = new Client({ transport, results, defaultQueue: queue });
    let celery: CeleryWorker | undefined;
    /** Transports of openClient() a case did not close (it failed first). */
    const opened = new Set<Transport>();

    beforeAll(
      gate.step(async () => {
        // Conveyor declares first, as a Conveyor client deployed before the Celery workers would: the
        // Python worker's own declaration must then agree with it (on AMQP a mismatch is a channel error).
        await transport.connect();
        await transport.declareQueue({ name: queue });
        celery = await startCeleryWorker({
          brokerUrl: options.brokerUrl,
          resultBackend: options.resultBackendUrl,
          queue,
          ...transportOptionsOf(options),
        });
      }),
      WORKER_START_TIMEOUT_MS,
    );
    afterAll(async () => {
      await Promise.all([...opened].map((t) => t.close().catch(() => {})));
      await celery?.stop();
      await transport.close();
      await results.close?.();
      await options.cleanup?.([queue]);
    });

    const context: ConveyorToCeleryContext = {
      client,
      capabilities: transport.capabilities,
      queue,
      async openClient() {
        const own = options.createTransport('client');
        opened.add(own);
        await own.connect();
        return {
          client: new Client({ transport: own, results, defaultQueue: queue }),
          close: async () => {
            opened.delete(own);
            await own.close();
          },
        };
      },
    };
    for (const testCase of cases) {
      it(
        testCase.title,
        gate.test(() => testCase.run(context)),
      );
    }
  });
}

function describeCeleryToConveyor(
  options: CeleryInteropOptions,
  cases: readonly CeleryToConveyorCase[],
  gate: SetUpGate,
): void {
  describe(`Python Celery sends over ${options.name}, Conveyor runs, Python reads the result`, () => {
    const queue = uniqueQueue(options, 'from-python');
    const transport = options.createTransport('worker');
    const results = options.createResultBackend();
    const worker = new Worker({ transport, tasks: tasksOf(cases), queues: [queue], results });
    const connection = {
      brokerUrl: options.brokerUrl,
      resultBackend: options.resultBackendUrl,
      queue,
      ...transportOptionsOf(options),
    };

    beforeAll(gate.step(() => worker.start()));
    afterAll(async () => {
      await worker.stop();
      await transport.close();
      await results.close?.();
      await options.cleanup?.([queue]);
    });

    const context: CeleryToConveyorContext = {
      queue,
      send: (sendOptions) => sendFromPython({ ...connection, ...sendOptions }),
      getResult: (id, { raw = false } = {}) =>
        getResultFromPython({
          resultBackend: options.resultBackendUrl,
          id,
          timeoutSeconds: INTEROP_RESULT_TIMEOUT_MS / 1000,
          raw,
        }),
    };
    for (const testCase of cases) {
      it(
        testCase.title,
        gate.test(() => testCase.run(context)),
      );
    }
  });
}

/** The union of the cases' tasks. Two different tasks under one name would make one case run the
 *  other's handler, so that is refused rather than resolved by order. */
function tasksOf(cases: readonly CeleryToConveyorCase[]): Task[] {
  const byName = new Map<string, Task>();
  for (const testCase of cases) {
    for (const task of testCase.tasks) {
      const known = byName.get(task.name);
      if (known !== undefined && known !== task) {
        throw new Error(
          `Celery interop case ${testCase.id}: another case already registers a different task "${task.name}"`,
        );
      }
      byName.set(task.name, task);
    }
  }
  return [...byName.values()];
}

function assertUniqueIds(cases: readonly CeleryInteropCase[]): void {
  const seen = new Set<string>();
  for (const { id } of cases) {
    if (seen.has(id)) throw new Error(`Celery interop case id "${id}" appears twice`);
    seen.add(id);
  }
}

function uniqueQueue(options: CeleryInteropOptions, direction: string): string {
  const random = Math.random().toString(36).slice(2, 8);
  return `${options.queuePrefix}-${direction}-${random}${options.queueSuffix ?? ''}`;
}

function transportOptionsOf(options: CeleryInteropOptions): { transportOptions?: Record<string, unknown> } {
  return options.celeryTransportOptions ? { transportOptions: options.celeryTransportOptions } : {};
}

export { type CeleryControlOptions, describeCeleryControl } from './celery-control-suite.js';
export {
  CELERY_EVENT_FIELDS,
  type CeleryEventsOptions,
  describeCeleryEvents,
} from './celery-events-suite.js';
// Celery's Redis results, for the brokers on which Celery has no result backend (SQS, Kafka).
export { CeleryRedisResults } from './celery-redis-results.js';
export { describeFlower, type FlowerSuiteOptions } from './flower-suite.js';
// The whole catalogue (cases, task mirrors, context types) is part of this entry point's API.
export * from './interop-cases.js';
// The probe a broker package's interop test file runs first: skip (or fail under CI) with the reason.
export {
  type InteropPrerequisites,
  missingInteropPrerequisites,
  skipCeleryInterop,
} from './interop-prerequisites.js';
