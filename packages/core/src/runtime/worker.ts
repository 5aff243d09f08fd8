import { hostname } from 'node:os';
import { WorkerRemoteControl, type WorkerRemoteControlOptions } from '../control/worker-remote-control.js';
import { deadLetterMessage } from '../delivery/dead-letter-message.js';
import { withCarriedCount } from '../delivery/transport-delivery.js';
import { ConveyorError } from '../errors/conveyor-error.js';
import { LeaseLostError } from '../errors/delivery-errors.js';
import { MalformedMessageError } from '../errors/message-errors.js';
import {
  DeliveryLimitExceededError,
  PermanentTaskError,
  SoftTimeLimitExceededError,
  TaskRevokedError,
  TaskValidationError,
  TimeLimitExceededError,
  UnknownTaskError,
} from '../errors/task-errors.js';
import { InvalidOptionError, TransportClosedError } from '../errors/transport-errors.js';
import { WorkerCeleryEvents, type WorkerCeleryEventsOptions } from '../events/worker-celery-events.js';
import { Deque } from '../memory/deque.js';
import { formatCeleryDate } from '../message/celery-date.js';
import { type CodecRegistry, defaultCodecs } from '../message/codec-registry.js';
import { decodeTaskMessage } from '../message/decode-task.js';
import { encodeTaskMessage } from '../message/encode-task.js';
import type { TaskMessage } from '../message/task-message.js';
import { sentAtOf } from '../metrics/sent-at-header.js';
import type { ResultBackend } from '../results/result-backend.js';
import { exceptionInfo, type ResultMeta } from '../results/result-meta.js';
import type { TaskState } from '../results/task-state.js';
import { MessageVerifier } from '../signing/message-verifier.js';
import { isSignedMessage, withSignedBody } from '../signing/signed-body.js';
import type { WorkerSigningOptions } from '../signing/signing-options.js';
import { ConsumerSpan } from '../telemetry/consumer-span.js';
import {
  checkTracingOption,
  type ResolvedTracing,
  resolveTracing,
  type TracingOption,
  type TracingOptions,
} from '../telemetry/tracing-options.js';
import { type Delivery, MAX_VISIBILITY_EXTENSION_MS } from '../transport/delivery.js';
import type { PublishOptions, Transport } from '../transport/transport.js';
import { validateArgs } from './client.js';
import { type IsolationOptions, resolveIsolation } from './isolation/isolation-options.js';
import { RunnerPool } from './isolation/runner-pool.js';
import { setLongTimeout } from './long-timeout.js';
import { type RetryPolicy, resolveRetryPolicy, retryDelayMs } from './retry-policy.js';
import { checkMaxDeliveries, type Task } from './task.js';
import type { TaskContext } from './task-context.js';
import { TypedEmitter } from './typed-emitter.js';
import type { ShutdownReport, WorkerEvents } from './worker-events.js';

/** Options of Worker. */
export interface WorkerOptions {
  transport: Transport;
  /** Tasks this worker runs, by name. */
  tasks: readonly Task[];
  /** Queues to consume. Default: the tasks' queues, or `celery`. */
  queues?: readonly string[];
  /** Most tasks running at once; also the broker prefetch. Default 10. */
  concurrency?: number;
  /** Where results go; without it nothing is stored. */
  results?: ResultBackend;
  /** Default retry policy of tasks that set none. */
  retry?: Partial<RetryPolicy>;
  /** How long `stop()` lets running tasks finish before giving them back. Default 30 s. */
  shutdownDeadlineMs?: number;
  /** Worker name in results (`worker`) and logs. Default `conveyor@<host>`. */
  hostname?: string;
  /** Store STARTED when a task starts (Celery's task_track_started). Default false. */
  trackStarted?: boolean;
  /**
   * Deliveries a message may have without being settled (its handler killed the worker, its lease
   * ran out) before it is dead-lettered with the reason "delivered N times without being settled"
   * instead of run again. A task's own `maxDeliveries` wins. Default 10; `Infinity` for no limit.
   */
  maxDeliveries?: number;
  codecs?: CodecRegistry;
  /**
   * Run handlers in worker threads or child processes (one per concurrent task) instead of this
   * event loop, so that one that blocks (a CPU-bound loop, a hung synchronous call) or kills its
   * process (process.exit, out of memory) fails only its own task: the hard time limit terminates
   * it, a crash is a HandlerCrashedError, and the worker settles the message by the retry policy.
   * The runners import the tasks from `isolation.tasksModule`. Default: none (in-process).
   */
  isolation?: IsolationOptions;
  /**
   * Run only tasks signed by a trusted producer (Celery's `auth` format): an unsigned message
   * (when `require`, the default), a tampered one or one from an unknown signer is dead-lettered
   * with the reason and never run. See docs/signing.md.
   */
  signing?: WorkerSigningOptions;
  /**
   * A CONSUMER span per task message, child of the producer's context from the message headers
   * (a Conveyor Client's or Python Celery's with opentelemetry-instrumentation-celery), with the
   * handler running inside it. `@opentelemetry/api` (an optional peer dependency) is imported at
   * `start()` only when this is set. See the tracing section of docs/observability.md. Default off.
   */
  tracing?: TracingOption;
  /**
   * Send Celery's worker and task events (`celery worker -E`, `worker_send_task_events`) on the
   * transport's broadcast, for Celery's event receiver and Flower. Default false, as in Celery.
   */
  events?: boolean | WorkerCeleryEventsOptions;
  /**
   * Answer Celery's remote control (`celery inspect`, `celery control revoke`) on the transport's
   * broadcast; revoked ids are then not run. Default false (see docs/celery-wire.md §7.2).
   */
  control?: boolean | WorkerRemoteControlOptions;
}

const KNOWN_WORKER_OPTIONS = new Set([
  'transport',
  'tasks',
  'queues',
  'concurrency',
  'results',
  'retry',
  'shutdownDeadlineMs',
  'hostname',
  'trackStarted',
  'maxDeliveries',
  'codecs',
  'isolation',
  'signing',
  'tracing',
  'events',
  'control',
]);

/** States a revoke overwrites in the result backend (Celery's `_revoke`); others are a worker's. */
const REVOCABLE_STATES: ReadonlySet<string> = new Set(['PENDING', 'RECEIVED', 'RETRY', 'REJECTED']);

/** One running task, so that shutdown can give it back. */
interface Execution {
  readonly delivery: Delivery;
  readonly startedAt: number;
  controller: AbortController | undefined;
  /** Set at a forced shutdown: the delivery was given back, so the outcome must not settle it. */
  abandoned: boolean;
  /** The task's CONSUMER span, when tracing. */
  span?: ConsumerSpan;
}

type WorkerState = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * Runs tasks from a transport: late acknowledgement (ack after the handler), retries by
 * re-publishing with a delay, dead-lettering with a reason, expiry, time limits, results, and a
 * graceful stop that gives unfinished work back to the broker.
 */
export class Worker extends TypedEmitter<WorkerEvents> {
  readonly transport: Transport;
  readonly concurrency: number;
  readonly queues: readonly string[];
  readonly hostname: string;
  readonly #tasks = new Map<string, { task: Task; retry: RetryPolicy }>();
  readonly #maxDeliveries: number;
  readonly #results: ResultBackend | undefined;
  readonly #codecs: CodecRegistry;
  readonly #shutdownDeadlineMs: number;
  readonly #trackStarted: boolean;
  readonly #verifier: MessageVerifier | undefined;
  readonly #tracingOptions: TracingOptions | undefined;
  /** Loaded at start when tracing is on. */
  #tracing: ResolvedTracing | undefined;
  /** The runners of isolated handlers, when `isolation` is set. */
  readonly #isolation: RunnerPool | undefined;
  readonly #celeryEvents: WorkerCeleryEvents | undefined;
  /** Celery's remote control, when `control` is set; its revoked ids are skipped. */
  readonly #control: WorkerRemoteControl | undefined;
  readonly #active = new Set<Execution>();
  readonly #waiting = new Deque<Delivery>();
  #state: WorkerState = 'idle';
  #consumers: AbortController | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #drained: (() => void) | undefined;
  /** Resolves the wait of a suspect for the worker to become idle (see #runAlone). */
  #idle: (() => void) | undefined;
  /** A redelivered message waiting to run alone, or running alone; others are set aside meanwhile. */
  #suspect: Delivery | undefined;
  /** Set-asides on their way: a suspect starts only once they are done. */
  readonly #settingAside = new Set<Promise<void>>();

  constructor(options: WorkerOptions) {
    super();
    for (const key of Object.keys(options ?? {})) {
      if (!KNOWN_WORKER_OPTIONS.has(key)) throw new InvalidOptionError(key, 'unknown Worker option');
    }
    if (!options?.transport || typeof options.transport.consume !== 'function') {
      throw new InvalidOptionError('transport', 'a Transport is required');
    }
    const concurrency = options.concurrency ?? 10;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidOptionError('concurrency', `must be an integer >= 1, got ${String(concurrency)}`);
    }
    const deadline = options.shutdownDeadlineMs ?? 30_000;
    if (!(deadline >= 0)) throw new InvalidOptionError('shutdownDeadlineMs', 'must be >= 0');
    if (!Array.isArray(options.tasks) || options.tasks.length === 0) {
      throw new InvalidOptionError('tasks', 'at least one task (from defineTask) is required');
    }
    const maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
    checkMaxDeliveries(maxDeliveries, 'maxDeliveries');
    this.#maxDeliveries = maxDeliveries;
    const defaultRetry = resolveRetryPolicy(options.retry);
    for (const task of options.tasks) {
      if (this.#tasks.has(task.name))
        throw new InvalidOptionError('tasks', `task "${task.name}" is listed twice`);
      this.#tasks.set(task.name, {
        task,
        retry: resolveRetryPolicy(task.retry, defaultRetry, `${task.name}.retry`),
      });
    }
    this.transport = options.transport;
    this.concurrency = concurrency;
    this.queues = options.queues ?? [...new Set(options.tasks.map((t) => t.queue ?? 'celery'))];
    if (this.queues.length === 0) throw new InvalidOptionError('queues', 'at least one queue is required');
    this.hostname = options.hostname ?? `conveyor@${hostname()}`;
    this.#results = options.results;
    this.#codecs = options.codecs ?? defaultCodecs;
    this.#shutdownDeadlineMs = deadline;
    this.#trackStarted = options.trackStarted ?? false;
    this.#verifier = options.signing === undefined ? undefined : new MessageVerifier(options.signing);
    this.#tracingOptions = checkTracingOption(options.tracing);
    this.#isolation =
      options.isolation === undefined
        ? undefined
        : new RunnerPool(resolveIsolation(options.isolation), concurrency);
    const events = options.events ?? false;
    this.#celeryEvents = events === false ? undefined : new WorkerCeleryEvents(this, events);
    const control = options.control ?? false;
    this.#control =
      control === false
        ? undefined
        : new WorkerRemoteControl(
            this,
            [...this.#tasks.keys()],
            control,
            (ids) => void this.#markRevoked(ids),
          );
  }

  /** Number of tasks running now. */
  get running(): number {
    return this.#active.size;
  }

  /** Connects, declares the queues and starts consuming. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new InvalidOptionError('start', `worker is ${this.#state}`);
    this.#state = 'running';
    this.#consumers = new AbortController();
    let announced = false;
    try {
      if (this.#tracingOptions !== undefined) this.#tracing ??= await resolveTracing(this.#tracingOptions);
      await this.#isolation?.start([...this.#tasks.keys()]);
      await this.transport.connect();
      for (const queue of this.queues) await this.transport.declareQueue({ name: queue });
      // Listening before consuming: a revoke sent once start() resolved is never missed.
      await this.#control?.start();
      // Online before consuming, as in Celery: tasks already waiting are delivered at once, and
      // their task events (and the worker's announcement before them) must not be missed.
      await this.#celeryEvents?.online();
      announced = true;
      await this.#consumeAll(this.#consumers.signal);
    } catch (error) {
      // Leave the worker startable again; stop whatever consumers did start.
      this.#control?.stop();
      this.#consumers.abort();
      if (announced) await this.#celeryEvents?.offline();
      this.#state = 'idle';
      throw error;
    }
    const { visibilityExtension, redelivery } = this.transport.capabilities;
    const timeout = redelivery.visibilityTimeoutMs;
    if (visibilityExtension && timeout !== null) {
      // Long tasks keep their message: extend anything that has run for a third of the timeout.
      const every = Math.max(50, Math.min(timeout, MAX_VISIBILITY_EXTENSION_MS) / 3);
      this.#heartbeat = setInterval(() => this.#extendLongRunning(timeout, every), every);
      this.#heartbeat.unref?.();
    }
  }

  #consumeAll(signal: AbortSignal): Promise<void> {
    return this.queues.reduce<Promise<void>>(
      (previous, queue) =>
        previous.then(() =>
          this.transport.consume(queue, this.#onDelivery, {
            prefetch: this.concurrency,
            signal,
            onError: (error) => this.emit('error', { error }),
          }),
        ),
      Promise.resolve(),
    );
  }

  /**
   * Stops taking messages, gives back those prefetched but not started (set aside with their count,
   * so a deploy does not charge them a delivery), lets running tasks finish until the deadline, then
   * aborts the rest and gives their messages back. Nothing is lost.
   */
  async stop(options: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    if (this.#state !== 'running') return { finished: 0, returned: 0 };
    this.#state = 'stopping';
    this.#consumers?.abort();
    clearInterval(this.#heartbeat);
    let returned = 0;
    const unstarted: Delivery[] = [];
    for (let d = this.#waiting.shift(); d !== undefined; d = this.#waiting.shift()) unstarted.push(d);
    const suspect = this.#suspect;
    if (suspect !== undefined && !this.#isActive(suspect)) {
      // Still waiting for its turn to run alone.
      this.#suspect = undefined;
      unstarted.push(suspect);
    }
    returned += unstarted.length;
    const runningAtStop = this.#active.size;
    const drained =
      runningAtStop > 0
        ? new Promise<void>((resolve) => {
            this.#drained = resolve;
          })
        : undefined;
    await Promise.all(unstarted.map((d) => this.#returnUnstarted(d)));
    if (drained !== undefined && this.#active.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.deadlineMs ?? this.#shutdownDeadlineMs);
      });
      await Promise.race([drained, deadline]);
      clearTimeout(timer);
    }
    const unfinished = [...this.#active];
    for (const execution of unfinished) {
      execution.abandoned = true;
      execution.controller?.abort(new Error('worker shutdown'));
      this.#active.delete(execution);
      await this.#giveBack(execution.delivery);
    }
    await this.#isolation?.close();
    this.#control?.stop();
    await this.#celeryEvents?.offline();
    this.#state = 'stopped';
    return { finished: runningAtStop - unfinished.length, returned: returned + unfinished.length };
  }

  readonly #onDelivery = (delivery: Delivery): void => {
    if (this.#state !== 'running') {
      void this.#returnUnstarted(delivery);
      return;
    }
    const decodable = delivery.message !== null && delivery.malformed === null;
    if (this.#suspect !== undefined && decodable) {
      // Arrived before the pause took effect: it must not be held while the suspect runs.
      void this.#setAside(delivery);
      return;
    }
    if (delivery.deliveryCount > 1 && decodable) {
      void this.#runAlone(delivery);
      return;
    }
    if (this.#active.size >= this.concurrency) {
      // Several queues share one concurrency bound; the broker's prefetch is per queue.
      this.#waiting.push(delivery);
      return;
    }
    void this.#process(delivery);
  };

  async #process(delivery: Delivery): Promise<void> {
    const execution: Execution = { delivery, startedAt: Date.now(), controller: undefined, abandoned: false };
    this.#active.add(execution);
    try {
      await this.#handle(execution);
    } catch (error) {
      // Something failed that the outcome paths did not absorb (a retry hop, a dead letter or a
      // settle the broker refused): give the message back after a pause rather than hold it forever
      // or spin; its delivery count rises, so the delivery limit ends a loop.
      this.emit('error', { error });
      if (!execution.abandoned) await this.#giveBack(delivery, this.#hop(UNHANDLED_FAILURE_BACKOFF_MS));
    } finally {
      this.#active.delete(execution);
      if (this.#state === 'running' && this.#suspect === undefined) {
        const next = this.#waiting.shift();
        if (next !== undefined) void this.#process(next);
      }
      if (this.#active.size === 0) {
        this.#idle?.();
        if (this.#state !== 'running') this.#drained?.();
      }
    }
  }

  #isActive(delivery: Delivery): boolean {
    for (const execution of this.#active) if (execution.delivery === delivery) return true;
    return false;
  }

  /**
   * A redelivered message may be the one that killed the last worker that held it (a poison
   * message). It runs alone: consumption pauses, whatever this worker holds but has not started is
   * set aside (re-published with its count, not charged), running tasks finish, then it runs with
   * nothing else held. If it kills this worker too, only its own count rises, so healthy messages
   * prefetched beside it never reach the delivery limit on its account.
   */
  async #runAlone(suspect: Delivery): Promise<void> {
    if (this.#suspect !== undefined) return this.#setAside(suspect);
    this.#suspect = suspect;
    this.#consumers?.abort();
    const held: Delivery[] = [];
    for (let d = this.#waiting.shift(); d !== undefined; d = this.#waiting.shift()) held.push(d);
    await Promise.all(held.map((d) => this.#setAside(d)));
    if (this.#active.size > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      this.#idle = undefined;
    }
    // Deliveries that were on their way when consumption paused are set aside too; wait for them.
    while (this.#settingAside.size > 0) await Promise.all([...this.#settingAside]);
    if (this.#suspect !== suspect || this.#state !== 'running') return; // stop() gave it back
    try {
      await this.#process(suspect);
    } finally {
      this.#suspect = undefined;
    }
    await this.#resume();
  }

  /** Consumes again after a suspect ran alone; keeps trying while the broker refuses. */
  async #resume(): Promise<void> {
    for (let attempt = 0; this.#state === 'running' && this.#suspect === undefined; attempt += 1) {
      const consumers = new AbortController();
      this.#consumers = consumers;
      try {
        await this.#consumeAll(consumers.signal);
        return;
      } catch (error) {
        consumers.abort();
        this.emit('error', { error });
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  /**
   * Takes a delivery out of this worker's hands without charging it a delivery: a copy carrying
   * its count so far goes back to the queue before this one is acked (a crash in between
   * duplicates, never loses). If the copy cannot be published it is given back instead.
   */
  #setAside(delivery: Delivery): Promise<void> {
    const pending = this.#republishAside(delivery).finally(() => this.#settingAside.delete(pending));
    this.#settingAside.add(pending);
    return pending;
  }

  async #republishAside(delivery: Delivery): Promise<void> {
    const message = delivery.message!;
    const options: PublishOptions = {};
    if (message.properties.priority !== undefined) options.priority = message.properties.priority;
    if (delivery.orderingKey !== undefined) options.orderingKey = delivery.orderingKey;
    try {
      await this.transport.publish(
        delivery.queue,
        withCarriedCount(message, delivery.deliveryCount - 1),
        options,
      );
      await delivery.ack();
    } catch (error) {
      this.emit('error', { error });
      await this.#giveBack(delivery);
    }
  }

  async #handle(execution: Execution): Promise<void> {
    const { delivery } = execution;
    if (delivery.malformed || !delivery.message) {
      const reason = delivery.malformed?.message ?? 'malformed message: no payload';
      return this.#reject(delivery, reason, undefined, undefined);
    }
    let message: TaskMessage;
    try {
      const wire = this.#verifier ? this.#verifier.open(delivery.message) : delivery.message;
      message = decodeTaskMessage(wire, this.#codecs);
    } catch (error) {
      if (error instanceof MalformedMessageError)
        return this.#reject(delivery, error.message, undefined, undefined);
      throw error;
    }
    if (this.#tracing === undefined) return this.#handleMessage(execution, message);
    const span = new ConsumerSpan(this.#tracing, message, {
      queue: delivery.queue,
      transportName: this.transport.name,
      deliveryCount: delivery.deliveryCount,
    });
    execution.span = span;
    try {
      return await span.run(() => this.#handleMessage(execution, message));
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  async #handleMessage(execution: Execution, message: TaskMessage): Promise<void> {
    const { delivery } = execution;
    const entry = this.#tasks.get(message.task);
    if (this.has('received')) {
      this.emit('received', {
        taskId: message.id,
        name: message.task,
        deliveryCount: delivery.deliveryCount,
        retries: message.retries,
        queue: delivery.queue,
        sentAt: sentAtOf(message.extraHeaders),
        eta: message.eta,
        argsrepr: message.argsrepr,
        kwargsrepr: message.kwargsrepr,
        rootId: message.rootId,
        parentId: message.parentId,
        expires: message.expires,
      });
    }
    const limit = entry?.task.maxDeliveries ?? this.#maxDeliveries;
    if (delivery.deliveryCount > limit) {
      const error = new DeliveryLimitExceededError(delivery.deliveryCount - 1, limit);
      execution.span?.fail(error);
      await this.#store(message, delivery.queue, 'FAILURE', exceptionInfo(error));
      this.emit('failed', { taskId: message.id, name: message.task, error, retries: message.retries });
      return this.#reject(delivery, error.message, message.id, message.task);
    }
    if (!entry) {
      const error = new UnknownTaskError(message.task);
      execution.span?.fail(error);
      await this.#store(message, delivery.queue, 'FAILURE', exceptionInfo(error));
      return this.#reject(delivery, error.message, message.id, message.task);
    }
    if (message.eta !== null && (await this.#deferIfEarly(execution, message))) return;
    if (message.expires !== null && message.expires.getTime() <= Date.now()) {
      const reason = `expired at ${formatCeleryDate(message.expires)}`;
      await this.#store(
        message,
        delivery.queue,
        'REVOKED',
        exceptionInfo(new TaskRevokedError(message.id, 'expired')),
      );
      if (execution.abandoned) return;
      await delivery.ack();
      this.emit('revoked', { taskId: message.id, name: message.task, reason });
      return;
    }
    if (this.#control?.revoked.has(message.id)) {
      // Celery's revoke: the task is acknowledged without running, whenever it arrives.
      const error = new TaskRevokedError(message.id, 'revoked');
      await this.#store(message, delivery.queue, 'REVOKED', exceptionInfo(error));
      if (execution.abandoned) return;
      await delivery.ack();
      this.emit('revoked', { taskId: message.id, name: message.task, reason: 'revoked' });
      return;
    }
    const { task, retry } = entry;
    let args = message.args;
    if (task.schema) {
      try {
        args = await validateArgs(task.name, task.schema, args);
      } catch (error) {
        if (!(error instanceof TaskValidationError)) throw error;
        execution.span?.fail(error);
        await this.#store(message, delivery.queue, 'FAILURE', exceptionInfo(error));
        return this.#reject(delivery, error.message, message.id, message.task);
      }
    }
    if (this.#trackStarted)
      await this.#store(message, delivery.queue, 'STARTED', { pid: process.pid, hostname: this.hostname });
    this.emit('started', { taskId: message.id, name: message.task });
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = await this.#run(execution, task, message, args);
    } catch (error) {
      if (execution.abandoned) return;
      execution.span?.fail(error);
      return this.#onFailure(delivery, message, retry, error);
    }
    if (execution.abandoned) return;
    await this.#store(message, delivery.queue, 'SUCCESS', result);
    await delivery.ack();
    if (this.has('succeeded')) {
      this.emit('succeeded', {
        taskId: message.id,
        name: message.task,
        result,
        runtimeMs: performance.now() - startedAt,
      });
    }
  }

  /** Runs the handler under the soft and hard time limits. */
  #run(execution: Execution, task: Task, message: TaskMessage, args: unknown[]): Promise<unknown> {
    const [hardSeconds, softSeconds] = message.timeLimit;
    const hardMs = hardSeconds !== null ? hardSeconds * 1000 : task.timeLimit?.hardMs;
    const softMs = softSeconds !== null ? softSeconds * 1000 : task.timeLimit?.softMs;
    const context = new ExecutionContext(execution, message);
    if (this.#isolation !== undefined) {
      return this.#isolation.run(task.name, args, context, { softMs, hardMs, signal: context.signal });
    }
    if (hardMs === undefined && softMs === undefined) {
      try {
        return Promise.resolve(task.handler(args, context));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const controller = context.controller();
    return new Promise<unknown>((resolve, reject) => {
      const soft =
        softMs !== undefined
          ? setLongTimeout(() => controller.abort(new SoftTimeLimitExceededError(softMs)), softMs)
          : undefined;
      const hard =
        hardMs !== undefined
          ? setLongTimeout(() => {
              const error = new TimeLimitExceededError(hardMs);
              controller.abort(error);
              reject(error);
            }, hardMs)
          : undefined;
      const done = (): void => {
        soft?.clear();
        hard?.clear();
      };
      try {
        Promise.resolve(task.handler(args, context)).then(
          (value) => {
            done();
            resolve(value);
          },
          (error: unknown) => {
            done();
            reject(error);
          },
        );
      } catch (error) {
        done();
        reject(error);
      }
    });
  }

  async #onFailure(
    delivery: Delivery,
    message: TaskMessage,
    retry: RetryPolicy,
    error: unknown,
  ): Promise<void> {
    const permanent = error instanceof PermanentTaskError;
    if (!permanent && message.retries < retry.maxRetries) {
      const retries = message.retries + 1;
      const delayMs = retryDelayMs(retry, retries);
      try {
        // The eta header carries the full backoff; the broker holds at most one hop of it and the
        // worker that receives it early re-delays the rest (#deferIfEarly).
        await this.#republish(
          delivery,
          message,
          { retries, eta: new Date(Date.now() + delayMs) },
          this.#hop(delayMs),
        );
      } catch (publishError) {
        return this.#onRetryNotPublished(delivery, message, retry, error, publishError, delayMs);
      }
      await this.#store(message, delivery.queue, 'RETRY', exceptionInfo(error));
      await delivery.ack();
      this.emit('retried', { taskId: message.id, name: message.task, error, retries, delayMs });
      return;
    }
    await this.#store(message, delivery.queue, 'FAILURE', exceptionInfo(error), errorTraceback(error));
    this.emit('failed', { taskId: message.id, name: message.task, error, retries: message.retries });
    const why = permanent ? 'permanent failure' : `gave up after ${message.retries} retries`;
    await this.#reject(delivery, `${why}: ${describeError(error)}`, message.id, message.task);
  }

  /**
   * The retry could not be stored. It still counts as an attempt: each delivery of this copy is
   * one, so the original goes back after the retry's backoff and, once the attempts are spent or
   * the broker refuses the retry for good (too large, say), it is dead-lettered with both errors.
   */
  async #onRetryNotPublished(
    delivery: Delivery,
    message: TaskMessage,
    retry: RetryPolicy,
    error: unknown,
    publishError: unknown,
    delayMs: number,
  ): Promise<void> {
    this.emit('error', { error: publishError, taskId: message.id });
    const attempts = message.retries + delivery.deliveryCount;
    const hopeless = publishError instanceof ConveyorError && !publishError.retryable;
    if (!hopeless && attempts <= retry.maxRetries) {
      await delivery.nack(delayMs > 0 && this.#hop(delayMs) > 0 ? { delayMs: this.#hop(delayMs) } : {});
      return;
    }
    await this.#store(message, delivery.queue, 'FAILURE', exceptionInfo(error), errorTraceback(error));
    this.emit('failed', { taskId: message.id, name: message.task, error, retries: message.retries });
    const why = hopeless ? 'the broker refused it' : `gave up after ${attempts} attempts`;
    await this.#reject(
      delivery,
      `retry could not be published (${why}): ${describeError(publishError)}; task error: ${describeError(error)}`,
      message.id,
      message.task,
    );
  }

  /**
   * A message that arrived before its eta: re-publish it with the remaining delay and ack this
   * copy, so nothing waits in worker memory. Returns true when it deferred.
   */
  async #deferIfEarly(execution: Execution, message: TaskMessage): Promise<boolean> {
    const { delay } = this.transport.capabilities;
    const remaining = message.eta!.getTime() - Date.now();
    if (remaining <= 0) return false;
    // Within the transport's precision a re-delay could not land any closer to the eta: the
    // remainder is waited out here instead, and the task never starts early.
    if (remaining <= delay.precisionMs || delay.mode === 'none') {
      // (Without delays the broker cannot hold it; Celery holds such messages in the worker too.)
      await sleep(remaining, execution);
      return false;
    }
    await this.#republish(execution.delivery, message, {}, this.#hop(remaining));
    await execution.delivery.ack();
    return true;
  }

  /** The part of a delay the transport can hold in one publish (0 when it has no delays). */
  #hop(delayMs: number): number {
    const { mode, maxDelayMs } = this.transport.capabilities.delay;
    if (mode === 'none') return 0;
    return maxDelayMs === null ? delayMs : Math.min(delayMs, maxDelayMs);
  }

  #republish(
    delivery: Delivery,
    message: TaskMessage,
    changes: Partial<TaskMessage>,
    delayMs: number,
  ): Promise<void> {
    const queue = delivery.queue;
    const orderingKey = delivery.orderingKey;
    let wire = encodeTaskMessage({ ...message, ...changes }, this.#codecs);
    // Only headers changed: the producer's signed body goes back as it came, still verifiable.
    if (isSignedMessage(delivery.message)) wire = withSignedBody(wire, delivery.message);
    const options: PublishOptions = {};
    if (delayMs > 0) options.delayMs = delayMs;
    // Unset stays unset (the broker's Celery default); an explicit level, even 0, is kept.
    if (message.priority !== undefined) options.priority = message.priority;
    if (orderingKey !== undefined) options.orderingKey = orderingKey;
    return this.transport.publish(queue, wire, options);
  }

  async #reject(
    delivery: Delivery,
    reason: string,
    taskId: string | undefined,
    name: string | undefined,
  ): Promise<void> {
    if (this.transport.capabilities.deadLetter) {
      await delivery.reject(reason);
    } else {
      // The broker has no dead-lettering: core keeps the promise itself with a plain queue,
      // publishing the letter before acking so that a crash in between duplicates, never loses.
      await this.transport.publish(
        `${delivery.queue}.dlq`,
        deadLetterMessage({
          queue: delivery.queue,
          reason,
          message: delivery.message,
          raw: () => delivery.rawPayload?.() ?? null,
          maxBytes: this.transport.capabilities.maxMessageBytes,
        }),
      );
      await delivery.ack();
    }
    this.emit('rejected', { taskId, name, reason, queue: delivery.queue });
  }

  /** A delivery this worker never started goes back without being charged a delivery. */
  #returnUnstarted(delivery: Delivery): Promise<void> {
    if (delivery.message !== null && delivery.malformed === null) return this.#setAside(delivery);
    return this.#giveBack(delivery);
  }

  async #giveBack(delivery: Delivery, delayMs = 0): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await delivery.nack(delayMs > 0 ? { delayMs } : {});
        return;
      } catch (error) {
        this.emit('error', { error });
        // A closed connection or a lost lease already gave it back. Otherwise the nack failed
        // before the broker had it (a connection cut, the broker restarting): the delivery is open
        // again and holds its prefetch slot, and where no lease runs out (SQS, Kafka) nothing else
        // would ever free it: once every slot is held so, the consumer stops receiving for good
        // (found by the chaos runner). Try again while the worker runs and the error may pass.
        const settled = error instanceof LeaseLostError || error instanceof TransportClosedError;
        const hopeless = error instanceof ConveyorError && !error.retryable;
        if (settled || hopeless || this.#state !== 'running') return;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(GIVE_BACK_RETRY_MAX_MS, 250 * 2 ** attempt)),
        );
      }
    }
  }

  /**
   * Celery 5.7's revoke: a task not yet finished (no result, or PENDING, RECEIVED, RETRY, REJECTED)
   * is stored REVOKED at once, so a caller waiting on it learns without the task reaching a worker.
   */
  async #markRevoked(taskIds: readonly string[]): Promise<void> {
    if (!this.#results) return;
    for (const taskId of taskIds) {
      try {
        const meta = await this.#results.get(taskId);
        if (meta !== null && !REVOCABLE_STATES.has(meta.status)) continue;
        await this.#results.store({
          status: 'REVOKED',
          result: exceptionInfo(new TaskRevokedError(taskId, 'revoked')),
          traceback: null,
          children: [],
          date_done: formatCeleryDate(new Date()),
          task_id: taskId,
        });
      } catch (error) {
        this.emit('error', { error, taskId });
      }
    }
  }

  async #store(
    message: TaskMessage,
    queue: string,
    status: TaskState,
    result: unknown,
    traceback: string | null = null,
  ): Promise<void> {
    if (!this.#results) return;
    // Celery stores nothing at all for ignore_result tasks, failures included.
    if (message.ignoreResult || this.#tasks.get(message.task)?.task.ignoreResult) return;
    const ready = status === 'SUCCESS' || status === 'FAILURE' || status === 'REVOKED';
    const meta: ResultMeta = {
      status,
      result: result === undefined ? null : result,
      traceback,
      children: [],
      date_done: ready ? formatCeleryDate(new Date()) : null,
      name: message.task,
      args: message.args,
      kwargs: message.kwargs,
      worker: this.hostname,
      retries: message.retries,
      queue,
      task_id: message.id,
    };
    try {
      await this.#results.store(meta);
    } catch (error) {
      this.emit('error', { error, taskId: message.id });
    }
  }

  #extendLongRunning(timeoutMs: number, olderThanMs: number): void {
    const now = Date.now();
    // A visibility timeout above the contract's cap is extended by the cap, every third of it.
    const extendBy = Math.min(timeoutMs, MAX_VISIBILITY_EXTENSION_MS);
    for (const execution of this.#active) {
      if (now - execution.startedAt >= olderThanMs) {
        execution.delivery
          .extendVisibility(extendBy)
          .catch((error: unknown) => this.emit('error', { error }));
      }
    }
  }
}

/** Deliveries without a settle before a message is dead-lettered, when neither worker nor task says. */
const DEFAULT_MAX_DELIVERIES = 10;
/** How long a message waits before it is handed out again after an unexpected failure. */
const UNHANDLED_FAILURE_BACKOFF_MS = 1_000;
/** A give-back that failed is tried again after 0.5 s, doubling up to this. */
const GIVE_BACK_RETRY_MAX_MS = 5_000;

/** The context a handler gets; its AbortController is made only if the handler reads `signal`. */
class ExecutionContext implements TaskContext {
  readonly #execution: Execution;
  readonly #message: TaskMessage;

  constructor(execution: Execution, message: TaskMessage) {
    this.#execution = execution;
    this.#message = message;
  }

  get id(): string {
    return this.#message.id;
  }
  get name(): string {
    return this.#message.task;
  }
  get retries(): number {
    return this.#message.retries;
  }
  get deliveryCount(): number {
    return this.#execution.delivery.deliveryCount;
  }
  get kwargs(): Readonly<Record<string, unknown>> {
    return this.#message.kwargs;
  }
  get headers(): TaskContext['headers'] {
    return this.#message.extraHeaders;
  }
  get signal(): AbortSignal {
    return this.controller().signal;
  }

  controller(): AbortController {
    this.#execution.controller ??= new AbortController();
    return this.#execution.controller;
  }
}

/** The message a dead-letter queue receives: the original with the reason in its headers. */
function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function errorTraceback(error: unknown): string | null {
  return error instanceof Error && error.stack ? error.stack : null;
}

function sleep(ms: number, execution: Execution): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    execution.controller?.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
