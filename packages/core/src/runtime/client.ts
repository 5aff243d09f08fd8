import { randomUUID } from 'node:crypto';
import { TaskValidationError } from '../errors/task-errors.js';
import { InvalidOptionError } from '../errors/transport-errors.js';
import { sendTaskSentEvents } from '../events/client-celery-events.js';
import { type CodecRegistry, defaultCodecs } from '../message/codec-registry.js';
import { encodeTaskMessage } from '../message/encode-task.js';
import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import { SENT_AT_HEADER } from '../metrics/sent-at-header.js';
import type { ResultBackend } from '../results/result-backend.js';
import { MessageSigner } from '../signing/message-signer.js';
import type { ClientSigningOptions } from '../signing/signing-options.js';
import { ProducerSpan } from '../telemetry/producer-span.js';
import {
  checkTracingOption,
  type ResolvedTracing,
  resolveTracing,
  type TracingOption,
} from '../telemetry/tracing-options.js';
import type { PublishEntry, PublishOptions, Transport } from '../transport/transport.js';
import { publishWithRetry, resolvePublishRetry } from './publish-with-retry.js';
import { ResultHandle } from './result-handle.js';
import type { RetryPolicy } from './retry-policy.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { Task, TimeLimits } from './task.js';
import { TypedEmitter } from './typed-emitter.js';

/** Options of Client. */
export interface ClientOptions {
  transport: Transport;
  /** Needed to read results through the handles `send` returns. */
  results?: ResultBackend;
  /** Queue of tasks that name none. Default `celery`, Celery's default queue. */
  defaultQueue?: string;
  codecs?: CodecRegistry;
  /**
   * Retries a publish that failed with a retryable error (connection lost, no confirm), only for
   * the entries not stored. Default: no retry, the error reaches the caller. A retried entry may
   * be stored twice when only its confirm was lost.
   */
  publishRetry?: Partial<RetryPolicy>;
  /**
   * How a countdown or ETA reaches the queue (see {@link DelayedDelivery}). Default `'auto'`:
   * `'eta'` on a transport whose delays are emulated (`capabilities.delay.mode === 'emulated'`,
   * e.g. Redis), whose parked messages only Conveyor processes release, and `'broker'` elsewhere.
   */
  delayedDelivery?: DelayedDelivery;
  /**
   * Sign every task body with this key, in Celery's `auth` format, so that workers that trust
   * the certificate (Conveyor or Celery with `task_serializer='auth'`) run it. See docs/signing.md.
   */
  signing?: ClientSigningOptions;
  /**
   * Write the send time in every message's `x-conveyor-sent-at` header (epoch seconds), so that
   * Conveyor workers measure end-to-end latency (`conveyor_task_latency_seconds`). Default false:
   * messages keep Celery's headers only. Handlers see the header in `context.headers`.
   */
  sentTimestamp?: boolean;
  /**
   * A PRODUCER span per send, its trace context in the message headers (W3C `traceparent`), with
   * `@opentelemetry/api` (an optional peer dependency, imported only when this is set). See the
   * tracing section of docs/observability.md. Default off.
   */
  tracing?: TracingOption;
  /**
   * Send Celery's `task-sent` event for every task (Celery's `task_send_sent_event`) on the
   * transport's broadcast, for Celery's event receiver and Flower. Default false, as in Celery.
   */
  sendEvents?: boolean;
}

/** Events a Client emits. */
export interface ClientEvents {
  /** A task message is stored by the broker (emitted once per message, after the publish). */
  sent: {
    taskId: string;
    name: string;
    queue: string;
    /** The Celery headers it was sent with (argsrepr, kwargsrepr, eta, expires, root_id, ...). */
    headers: Readonly<Record<string, JsonValue>>;
  };
}

/**
 * How the Client sends a task that must not run yet.
 * - `'broker'`: the transport holds it (`PublishOptions.delayMs`) until it is due; nothing is
 *   delivered early. Where the delay is emulated (Redis), only Conveyor processes release it.
 * - `'eta'`: Celery's way. Published at once with the `eta` header only: a Celery worker holds it
 *   in memory until then, a Conveyor worker parks it in the broker for the time left. Any
 *   consumer, Python included, runs it on time; a Conveyor worker pays one extra delivery.
 * - `'auto'`: `'eta'` where the transport's delay is emulated, `'broker'` elsewhere.
 */
export type DelayedDelivery = 'auto' | 'broker' | 'eta';

const DELAYED_DELIVERY_VALUES: readonly DelayedDelivery[] = ['auto', 'broker', 'eta'];

/** Per-call options of `send`. */
export interface SendOptions {
  /** Run no earlier than this many ms from now (Celery's countdown, in ms). */
  countdownMs?: number;
  /** Run no earlier than this instant. */
  eta?: Date;
  /** Revoke instead of running after this instant (Date) or this many ms from now (number). */
  expires?: Date | number;
  /** Priority level (0..capabilities.priorityLevels-1, higher first). */
  priority?: number;
  /** Queue to route to; overrides the task's. */
  queue?: string;
  /** Keyword arguments, for Python tasks that take them. */
  kwargs?: Record<string, unknown>;
  /** Task id; default a new uuid4. */
  taskId?: string;
  ignoreResult?: boolean;
  timeLimit?: TimeLimits;
  /** Extra headers (must not clash with Celery's). */
  headers?: Record<string, JsonValue>;
  /** Passed to the transport where it claims deduplication. */
  deduplicationId?: string;
  /** Passed to the transport where it claims ordering. */
  orderingKey?: string;
}

const KNOWN_CLIENT_OPTIONS = new Set([
  'transport',
  'results',
  'defaultQueue',
  'codecs',
  'publishRetry',
  'delayedDelivery',
  'signing',
  'sentTimestamp',
  'tracing',
  'sendEvents',
]);

/** Sends tasks. Connects the transport and declares queues lazily, once. */
export class Client extends TypedEmitter<ClientEvents> {
  readonly transport: Transport;
  readonly results: ResultBackend | undefined;
  readonly defaultQueue: string;
  /** How countdowns and ETAs are sent: `'broker'` or `'eta'` (`'auto'` resolved for this transport). */
  readonly delayedDelivery: 'broker' | 'eta';
  readonly #codecs: CodecRegistry;
  readonly #publishRetry: RetryPolicy;
  readonly #signer: MessageSigner | undefined;
  readonly #sentTimestamp: boolean;
  /** Loaded on the first traced send; undefined when tracing is off (no import, no cost). */
  #tracing: (() => Promise<ResolvedTracing>) | undefined;
  #connected: Promise<void> | undefined;
  readonly #declared = new Map<string, Promise<void>>();

  constructor(options: ClientOptions) {
    super();
    for (const key of Object.keys(options ?? {})) {
      if (!KNOWN_CLIENT_OPTIONS.has(key)) throw new InvalidOptionError(key, 'unknown Client option');
    }
    if (!options?.transport || typeof options.transport.publish !== 'function') {
      throw new InvalidOptionError('transport', 'a Transport is required (e.g. new MemoryTransport())');
    }
    this.transport = options.transport;
    this.results = options.results;
    this.defaultQueue = options.defaultQueue ?? 'celery';
    this.#codecs = options.codecs ?? defaultCodecs;
    this.#publishRetry = resolvePublishRetry(options.publishRetry);
    this.delayedDelivery = resolveDelayedDelivery(options.delayedDelivery, this.transport);
    this.#signer = options.signing === undefined ? undefined : new MessageSigner(options.signing);
    this.#sentTimestamp = options.sentTimestamp ?? false;
    if (options.sendEvents === true) sendTaskSentEvents(this);
    const tracing = checkTracingOption(options.tracing);
    if (tracing !== undefined) {
      let loaded: Promise<ResolvedTracing> | undefined;
      this.#tracing = () => {
        loaded ??= resolveTracing(tracing);
        // A failed import must not poison later sends once the package is there.
        loaded.catch(() => {
          loaded = undefined;
        });
        return loaded;
      };
    }
  }

  /** Sends one task; resolves when the broker has it. */
  async send<Args extends unknown[], Result, Input extends unknown[]>(
    task: Task<Args, Result, Input> | string,
    args: NoInfer<Input>,
    options: SendOptions = {},
  ): Promise<ResultHandle<Result>> {
    const [handle] = await this.sendMany(task, [args], options);
    return handle as ResultHandle<Result>;
  }

  /** Sends one task per args array with the same options (batched where the transport can). */
  async sendMany<Args extends unknown[], Result, Input extends unknown[]>(
    task: Task<Args, Result, Input> | string,
    argsList: readonly NoInfer<Input>[],
    options: SendOptions = {},
  ): Promise<ResultHandle<Result>[]> {
    const name = typeof task === 'string' ? task : task.name;
    const queue = options.queue ?? (typeof task === 'string' ? undefined : task.queue) ?? this.defaultQueue;
    if (options.taskId !== undefined && argsList.length > 1) {
      throw new InvalidOptionError('taskId', 'only valid when sending a single task');
    }
    const schema = typeof task === 'string' ? undefined : task.schema;
    // Validate to fail fast, but send the arguments as given: the worker validates them again and
    // hands the parsed output to the handler, so a transforming schema is applied exactly once.
    if (schema) await Promise.all(argsList.map((a) => validateArgs(name, schema, a)));
    const now = Date.now();
    const eta =
      options.eta ?? (options.countdownMs !== undefined ? new Date(now + options.countdownMs) : null);
    const expires =
      options.expires === undefined
        ? null
        : typeof options.expires === 'number'
          ? new Date(now + options.expires)
          : options.expires;
    const limits = options.timeLimit ?? (typeof task === 'string' ? undefined : task.timeLimit);
    const priority = options.priority ?? (typeof task === 'string' ? undefined : task.priority);
    const ignoreResult =
      options.ignoreResult ?? (typeof task === 'string' ? false : (task.ignoreResult ?? false));
    const publishOptions = this.#publishOptions(eta, now, priority, options);
    const headers = this.#sentTimestamp
      ? { ...options.headers, [SENT_AT_HEADER]: now / 1000 }
      : options.headers;
    const span =
      this.#tracing === undefined
        ? undefined
        : new ProducerSpan(await this.#tracing(), {
            queue,
            taskName: name,
            transportName: this.transport.name,
            messageCount: argsList.length,
          });
    const extraHeaders = span === undefined ? headers : { ...headers, ...span.headers };

    const entries: PublishEntry[] = new Array(argsList.length);
    const handles: ResultHandle<Result>[] = new Array(argsList.length);
    for (let i = 0; i < argsList.length; i++) {
      const id = options.taskId ?? randomUUID();
      let message: WireMessage = encodeTaskMessage(
        {
          id,
          task: name,
          args: argsList[i] as unknown[],
          kwargs: options.kwargs ?? {},
          eta,
          expires,
          ignoreResult,
          timeLimit: [toSeconds(limits?.hardMs), toSeconds(limits?.softMs)],
          priority,
          extraHeaders,
        },
        this.#codecs,
      );
      if (this.#signer) message = this.#signer.sign(message);
      entries[i] = publishOptions ? { message, options: publishOptions } : { message };
      handles[i] = new ResultHandle<Result>(id, this.results);
    }
    if (span === undefined) {
      await this.#ready(queue);
      await publishWithRetry(this.transport, queue, entries, this.#publishRetry);
    } else {
      if (handles.length === 1) span.messageId(handles[0]!.id);
      try {
        await this.#ready(queue);
        await publishWithRetry(this.transport, queue, entries, this.#publishRetry);
      } catch (error) {
        span.fail(error);
        throw error;
      } finally {
        span.end();
      }
    }
    if (this.has('sent')) {
      for (let i = 0; i < handles.length; i++) {
        this.emit('sent', { taskId: handles[i]!.id, name, queue, headers: entries[i]!.message.headers });
      }
    }
    return handles;
  }

  /** A handle for a task id sent earlier (or by another process). */
  result<Result = unknown>(taskId: string): ResultHandle<Result> {
    return new ResultHandle<Result>(taskId, this.results);
  }

  #publishOptions(
    eta: Date | null,
    now: number,
    priority: number | undefined,
    options: SendOptions,
  ): PublishOptions | undefined {
    const out: PublishOptions = {};
    let any = false;
    // With 'eta' the header alone carries the delay: whoever consumes the queue honours it.
    if (eta && this.delayedDelivery === 'broker') {
      const delay = eta.getTime() - now;
      if (delay > 0) {
        // Longer than one hop allows: the worker re-delays it on arrival (eta travels in headers).
        const max = this.transport.capabilities.delay.maxDelayMs;
        out.delayMs =
          max !== null && delay > max && this.transport.capabilities.delay.mode !== 'none' ? max : delay;
        any = true;
      }
    }
    if (priority !== undefined) {
      out.priority = priority;
      any = true;
    }
    if (options.deduplicationId !== undefined) {
      out.deduplicationId = options.deduplicationId;
      any = true;
    }
    if (options.orderingKey !== undefined) {
      out.orderingKey = options.orderingKey;
      any = true;
    }
    return any ? out : undefined;
  }

  #ready(queue: string): Promise<void> {
    if (!this.#connected) {
      this.#connected = this.transport.connect();
      // A failed connect must not poison every later send.
      this.#connected.catch(() => {
        this.#connected = undefined;
      });
    }
    let declared = this.#declared.get(queue);
    if (!declared) {
      declared = this.#connected.then(() => this.transport.declareQueue({ name: queue }));
      declared.catch(() => this.#declared.delete(queue));
      this.#declared.set(queue, declared);
    }
    return declared;
  }
}

function resolveDelayedDelivery(value: unknown, transport: Transport): 'broker' | 'eta' {
  if (value !== undefined && !DELAYED_DELIVERY_VALUES.includes(value as DelayedDelivery)) {
    throw new InvalidOptionError(
      'delayedDelivery',
      `must be one of ${DELAYED_DELIVERY_VALUES.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  if (value === 'broker' || value === 'eta') return value;
  // An emulated delay is parked where only Conveyor looks (a Redis zset): a Celery consumer of the
  // queue would never see it. A broker that releases delays itself serves every consumer.
  return transport.capabilities.delay.mode === 'emulated' ? 'eta' : 'broker';
}

/** Runs a Standard Schema over an args array; failures become TaskValidationError. */
export async function validateArgs(
  taskName: string,
  schema: StandardSchemaV1<unknown, unknown[]>,
  args: unknown,
): Promise<unknown[]> {
  let result = schema['~standard'].validate(args);
  if (result instanceof Promise) result = await result;
  if (result.issues) throw new TaskValidationError(taskName, result.issues);
  return result.value;
}

function toSeconds(ms: number | undefined): number | null {
  return ms === undefined ? null : ms / 1000;
}
