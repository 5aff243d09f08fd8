// First: it must patch amqplib's field-table decoder before amqplib loads (see the module).
import './int64-header-decoding.js';
import {
  BatchPublishError,
  BrokerConnectionError,
  BrokerError,
  type ConsumeOptions,
  ConveyorError,
  checkHealth,
  checkPrefetch,
  checkPriority,
  checkPublish,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type DeliveryHandler,
  defineCapabilities,
  type HealthStatus,
  HeldDeliveries,
  InvalidOptionError,
  onAbort,
  type PublishEntry,
  type PublishOptions,
  type QueueDepth,
  type QueueSpec,
  type Transport,
  type TransportCapabilities,
  TransportClosedError,
  type WireMessage,
} from '@conveyor/core/transport';
import amqplib, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Options,
} from 'amqplib';
import { AmqpBroadcast } from './amqp-broadcast.js';
import { AmqpConsumer, type AmqpConsumerLink } from './amqp-consumer.js';
import { amqpConnectFailure, amqpUser } from './amqp-tls.js';
import { bindToLadder, DELAY_LEVELS, declareDelayLadder, delayRoute } from './delay-ladder.js';
import { typedHeaders, UnwritableHeaderError, writableHeaders } from './header-table.js';
import {
  type AmqpTransportOptions,
  describeUrl,
  type ResolvedAmqpOptions,
  resolveAmqpOptions,
} from './options.js';
import { UncopiedCounts } from './uncopied-counts.js';
import { publishOptionsOf } from './wire-mapping.js';

interface Session {
  connection: ChannelModel;
  publisher: ConfirmChannel;
}

/**
 * Conveyor on RabbitMQ with amqplib: Celery's topology (durable queue, direct exchange of the same
 * name), persistent messages, publisher confirms, late acks with an exact basic.qos, delays through
 * a TTL ladder, dead letters that keep their reason, and a session that reconnects by itself.
 */
export class AmqpTransport implements Transport {
  readonly name = 'amqp';
  readonly capabilities: TransportCapabilities;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedAmqpOptions;
  /** Fan-out on exchanges (Celery's `celeryev` events): see AmqpBroadcast. */
  readonly broadcast: AmqpBroadcast;
  #session: Promise<Session> | undefined;
  #closed = false;
  #ladder: Promise<void> | undefined;
  /** Queues bound to the delay ladder's last exchange (re-bound after a reconnect). */
  readonly #onLadder = new Set<string>();
  readonly #declared = new Map<string, QueueSpec>();
  readonly #deadLetterQueues = new Map<string, string | null>();
  readonly #consumers = new Set<AmqpConsumer>();
  readonly #held = new HeldDeliveries();
  readonly #uncopied = new UncopiedCounts();
  readonly #sessionListeners = new Set<(error: unknown) => void>();

  constructor(options: AmqpTransportOptions | string = {}) {
    this.options = resolveAmqpOptions(typeof options === 'string' ? { url: options } : options);
    this.capabilities = defineCapabilities({
      delay: { mode: 'native', maxDelayMs: (2 ** DELAY_LEVELS - 1) * 1000, precisionMs: 1000 },
      priorityLevels: this.options.priorityLevels,
      ordering: 'queue',
      deadLetter: true,
      maxMessageBytes: this.options.maxMessageBytes,
      batchPublish: true,
      visibilityExtension: false,
      deduplication: false,
      // RabbitMQ requeues a closed channel's deliveries at once; there is no per-delivery lease.
      redelivery: { trigger: 'immediate', visibilityTimeoutMs: null },
      broadcast: true,
    });
    this.broadcast = new AmqpBroadcast({
      connection: async () => (await this.#currentSession()).connection,
      assertOpen: (operation) => this.#assertOpen(operation),
      closed: () => this.#closed,
    });
  }

  async connect(): Promise<void> {
    this.#assertOpen('connect');
    await this.#currentSession();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Unsettled deliveries become closed; closing their channels makes the broker requeue them.
    this.#held.closeAll();
    await Promise.allSettled([...this.#consumers].map((c) => c.close()));
    this.#consumers.clear();
    const session = await this.#session?.catch(() => undefined);
    if (session) await session.connection.close().catch(() => {});
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.#assertOpen('declareQueue');
    if (typeof spec?.name !== 'string' || spec.name === '')
      throw new InvalidOptionError('name', 'must be a non-empty string');
    if (spec.priorityLevels !== undefined && spec.priorityLevels > 0)
      checkPriority(this.name, this.capabilities, spec.priorityLevels - 1);
    const session = await this.#currentSession();
    if (this.options.declare) await this.#declare(session, spec);
    else await this.#checkExists(session, spec);
    this.#declared.set(spec.name, spec);
  }

  /**
   * `declare: false`: a passive declaration (which needs no permission) so that a missing queue
   * fails the send instead of RabbitMQ dropping every message routed to it.
   */
  async #checkExists(session: Session, spec: QueueSpec): Promise<void> {
    try {
      await this.#onChannel(session, (channel) => channel.checkQueue(spec.name));
    } catch (error) {
      if (!/NOT_FOUND|404/.test(String((error as Error)?.message ?? error))) {
        throw this.#mapError(error, `checking "${spec.name}"`);
      }
      throw new BrokerError(
        `queue "${spec.name}" does not exist, and this transport declares nothing (declare: false): start a worker of the queue, which declares it, or declare it as an administrator`,
        { cause: error, transport: this.name },
      );
    }
    this.#deadLetterQueues.set(
      spec.name,
      spec.deadLetterQueue === undefined ? `${spec.name}.dlq` : spec.deadLetterQueue,
    );
  }

  /** Dead-letter queue of `queue`, or null. */
  #deadLetterQueueOf(queue: string): string | null {
    const declared = this.#deadLetterQueues.get(queue);
    return declared === undefined ? `${queue}.dlq` : declared;
  }

  async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    this.#assertOpen('publish');
    checkPublish(this.name, this.capabilities, message, options);
    const session = await this.#currentSession();
    await this.#publishOn(session, queue, message, options);
  }

  async publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    this.#assertOpen('publishBatch');
    for (const entry of entries) checkPublish(this.name, this.capabilities, entry.message, entry.options);
    const session = await this.#currentSession();
    // All sent at once on the confirm channel; one round trip for the whole batch.
    const results = await Promise.allSettled(
      entries.map((e) => this.#publishOn(session, queue, e.message, e.options)),
    );
    const failed = results.flatMap((r, index) =>
      r.status === 'rejected' ? [{ index, error: r.reason as unknown }] : [],
    );
    if (failed.length > 0) throw new BatchPublishError(failed, entries.length, { transport: this.name });
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    this.#assertOpen('consume');
    checkPrefetch(this.name, options?.prefetch);
    if (options.signal?.aborted) return;
    const consumer = new AmqpConsumer(
      this.#linkOf(queue),
      handler,
      options.prefetch,
      options.onError ?? (() => {}),
    );
    const session = await this.#currentSession();
    // Delayed messages reach a queue through its binding to the ladder: bound here, by whoever
    // consumes it, so that producers which declare nothing (declare: false) can send delays too.
    if (this.options.declare) await this.#bindToLadder(session, queue);
    try {
      await consumer.start(await this.#channel(session));
    } catch (error) {
      // Refused (no read permission, no such queue): the consumer must not reopen its channel.
      await consumer.close();
      throw this.#mapError(error, `consuming "${queue}"`);
    }
    this.#consumers.add(consumer);
    const onSessionError = options.onError;
    if (onSessionError) this.#sessionListeners.add(onSessionError);
    onAbort(options.signal, () => {
      void consumer.stop();
      if (onSessionError) this.#sessionListeners.delete(onSessionError);
    });
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.#assertOpen('queueDepth');
    const session = await this.#currentSession();
    const channel = await this.#channel(session);
    try {
      const { messageCount } = await channel.checkQueue(queue);
      return { ready: messageCount, inFlight: undefined, delayed: undefined };
    } catch (error) {
      if (/NOT_FOUND/.test(String((error as Error).message)))
        return { ready: 0, inFlight: 0, delayed: undefined };
      throw this.#mapError(error, `queueDepth of "${queue}"`);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  health(): Promise<HealthStatus> {
    return checkHealth(this.#closed, async () => {
      const session = await this.#currentSession();
      const channel = await this.#channel(session);
      await channel.checkExchange('amq.direct');
      await channel.close();
    });
  }

  /** What a consumer of `queue` may use of this transport (see AmqpConsumerLink). */
  #linkOf(queue: string): AmqpConsumerLink {
    return {
      queue,
      transportName: this.name,
      capabilities: this.capabilities,
      quorum: this.options.queueType === 'quorum',
      held: this.#held,
      uncopied: this.#uncopied,
      publish: (target, message, delayMs) =>
        this.publish(target, message, delayMs === undefined ? undefined : { delayMs }),
      publishDeadLetter: (target, letter) => this.#publishDeadLetter(target, letter),
      republish: (target, msg, headers) => this.#republish(target, msg, headers),
      deadLetterQueueOf: (name) => this.#deadLetterQueueOf(name),
      restart: (consumer) => this.#restartConsumer(consumer),
    };
  }

  /** Called when a consumer's channel closed while its connection lives (e.g. consumer_timeout). */
  #restartConsumer(consumer: AmqpConsumer): void {
    if (this.#closed || consumer.stopped) return;
    void (async () => {
      try {
        const session = await this.#currentSession();
        // Stopped meanwhile: e.g. its first consume was refused (see consume).
        if (this.#closed || consumer.stopped) return;
        await consumer.start(await this.#channel(session));
      } catch {
        // The connection is going too; the reconnect restarts every consumer.
      }
    })();
  }

  #publishOn(
    session: Session,
    queue: string,
    message: WireMessage,
    options: PublishOptions | undefined,
  ): Promise<void> {
    const priority =
      this.capabilities.priorityLevels > 0 ? (options?.priority ?? message.properties.priority) : undefined;
    const delayMs = options?.delayMs ?? 0;
    return (async () => {
      const props = publishOptionsOf(message, priority);
      let exchange = '';
      let routingKey = queue;
      if (delayMs > 0) {
        await this.#ensureLadder(session, queue);
        ({ exchange, routingKey } = delayRoute(delayMs, queue));
      }
      await this.#send(session, exchange, routingKey, queue, message.body, props);
    })();
  }

  /** One confirmed publish: resolves on the broker's ack. */
  #send(
    session: Session,
    exchange: string,
    routingKey: string,
    queue: string,
    body: Uint8Array,
    props: Options.Publish,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        session.publisher.publish(
          exchange,
          routingKey,
          Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          props,
          (error) => {
            if (error)
              reject(
                new BrokerError(`the broker did not confirm a publish to "${queue}": ${String(error)}`, {
                  transport: this.name,
                  retryable: true,
                }),
              );
            else resolve();
          },
        );
      } catch (error) {
        reject(this.#mapError(error, `publish to "${queue}"`));
      }
    });
  }

  /**
   * A dead letter must leave its queue whatever its headers hold: when one cannot be written back
   * it is kept as text, or left out while the table is above amqplib's limit, and the reason says
   * which (otherwise the message would stay unacked, holding a prefetch slot, forever).
   */
  async #publishDeadLetter(queue: string, letter: WireMessage): Promise<void> {
    try {
      await this.publish(queue, letter);
      return;
    } catch (error) {
      if (!(error instanceof UnwritableHeaderError)) throw error;
    }
    const reason = String(letter.headers[DEAD_LETTER_REASON_HEADER] ?? '');
    const changes: string[] = [];
    let headers = letter.headers;
    // The reason grows with each change it names; a second pass makes room for that too.
    for (let pass = 0; pass < 3; pass += 1) {
      const written = writableHeaders(headers, DEAD_LETTER_KEEPS);
      if (written.changes.length === 0) break;
      changes.push(...written.changes);
      headers = {
        ...written.headers,
        [DEAD_LETTER_REASON_HEADER]: `${reason}; the dead letter could not keep every header: ${changes.join('; ')}`,
      };
    }
    await this.publish(queue, { ...letter, headers });
  }

  /** A copy of a received message with new headers: same body and properties, confirmed. */
  async #republish(queue: string, msg: ConsumeMessage, headers: WireMessage['headers']): Promise<void> {
    this.#assertOpen('publish');
    const session = await this.#currentSession();
    // userId must match the publishing connection's user (or the broker closes the channel with a
    // 406), and clusterId is deprecated: both stay out; every other property is kept as it came.
    const { headers: _received, userId: _userId, clusterId: _clusterId, ...properties } = msg.properties;
    const props: Options.Publish = { ...properties, headers: typedHeaders(headers) };
    await this.#send(session, '', queue, queue, msg.content, props);
  }

  async #ensureLadder(session: Session, queue: string): Promise<void> {
    if (!this.#declared.has(queue)) await this.declareQueue({ name: queue });
    // declare: false: the queue's consumers declared the ladder and bound the queue (see consume).
    if (this.options.declare) await this.#bindToLadder(session, queue);
  }

  /** Declares the ladder (once per session) and binds `queue` to its last exchange (once). */
  async #bindToLadder(session: Session, queue: string): Promise<void> {
    if (this.#onLadder.has(queue)) return;
    this.#ladder ??= this.#onChannel(session, (channel) => declareDelayLadder(channel));
    try {
      await this.#ladder;
    } catch (error) {
      this.#ladder = undefined;
      throw this.#mapError(error, 'declaring the delay queues');
    }
    try {
      await this.#onChannel(session, (channel) => bindToLadder(channel, queue));
    } catch (error) {
      throw this.#mapError(error, `binding "${queue}" to the delay queues`);
    }
    this.#onLadder.add(queue);
  }

  /** Declares on short-lived channels: a 406 closes that channel, never a consumer's. */
  async #declare(session: Session, spec: QueueSpec): Promise<void> {
    const args: Record<string, unknown> = {};
    if (this.options.queueType === 'quorum') args['x-queue-type'] = 'quorum';
    const levels = spec.priorityLevels ?? this.options.priorityLevels;
    if (levels > 0) args['x-max-priority'] = levels - 1;
    const dlq = spec.deadLetterQueue === undefined ? `${spec.name}.dlq` : spec.deadLetterQueue;
    // The dead-letter queue, and any queue with nowhere to dead-letter, gets no delivery limit: past
    // it a quorum queue with no dead-letter route drops the message, so looking at letters a few
    // times (`conveyor dlq list` gives them back) would delete them.
    const limit: Record<string, unknown> =
      this.options.queueType === 'quorum' && this.options.deliveryLimit !== undefined && dlq !== null
        ? { 'x-delivery-limit': this.options.deliveryLimit }
        : {};
    // A quorum queue drops a message past its delivery limit (the deliveryLimit option, a policy, or
    // RabbitMQ 4's default of 20) unless it has a dead-letter exchange: route those to the DLQ.
    const deadLettering: Record<string, unknown> =
      this.options.queueType === 'quorum' && dlq !== null
        ? { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq }
        : {};
    const durable = spec.durable ?? true;
    try {
      await this.#onChannel(session, (channel) =>
        channel.assertQueue(spec.name, { durable, arguments: { ...args, ...limit, ...deadLettering } }),
      );
    } catch (error) {
      // A queue declared before Conveyor routed its dead letters (or by Celery, which does not):
      // keep it as it is rather than fail; a policy can add the routing (see the README).
      if (!isInequivalentDeadLettering(error)) throw this.#declareError(error, spec.name);
      await this.#onChannel(session, (channel) =>
        channel.assertQueue(spec.name, { durable, arguments: { ...args, ...limit } }),
      ).catch((again: unknown) => {
        throw this.#declareError(again, spec.name);
      });
    }
    try {
      await this.#onChannel(session, async (channel) => {
        // Celery's route: a direct exchange named like the queue, bound with the queue's name.
        await channel.assertExchange(spec.name, 'direct', { durable: true });
        await channel.bindQueue(spec.name, spec.name, spec.name);
        if (this.#onLadder.has(spec.name)) await bindToLadder(channel, spec.name);
      });
      // On a channel of its own: a tolerated 406 closes the channel it happens on.
      if (dlq !== null)
        await this.#onChannel(session, (channel) => assertDeadLetterQueue(channel, dlq, args));
    } catch (error) {
      throw this.#declareError(error, spec.name);
    }
    this.#deadLetterQueues.set(spec.name, dlq);
  }

  /** Runs `use` on a new channel, closed afterwards (a 406 closes it anyway). */
  async #onChannel<T>(session: Session, use: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.#channel(session);
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  #declareError(error: unknown, queue: string): ConveyorError {
    const text = String((error as Error)?.message ?? error);
    const inequivalent = /inequivalent arg '([^']+)'.*?received (.*?) but current is (.*?)(?:"|$)/.exec(text);
    if (inequivalent) {
      const [, argument, wanted, current] = inequivalent;
      return new BrokerError(
        `queue "${queue}" already exists with a different "${argument}" (it has ${current}, this transport declares ${wanted}): align the options with the existing queue (e.g. priorityLevels, queueType) or delete it`,
        { cause: error, transport: this.name },
      );
    }
    return this.#mapError(error, `declaring "${queue}"`);
  }

  async #channel(session: Session): Promise<Channel> {
    try {
      const channel = await session.connection.createChannel();
      channel.on('error', () => {});
      return channel;
    } catch (error) {
      throw this.#mapError(error, 'opening a channel');
    }
  }

  /** The live session, waiting (bounded) while one is being re-established. */
  async #currentSession(): Promise<Session> {
    this.#session ??= this.#openSession(true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.#session,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new BrokerConnectionError(
                  `no connection to RabbitMQ at ${describeUrl(this.options.url)} within ${this.options.publishTimeoutMs} ms`,
                  { transport: this.name },
                ),
              ),
            this.options.publishTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #openSession(first: boolean): Promise<Session> {
    let delay = this.options.reconnectInitialDelayMs;
    for (;;) {
      try {
        const connection = await withTimeout(
          amqplib.connect(withHeartbeat(this.options.url, this.options.heartbeatSeconds), {
            // Nagle's algorithm cost celery-node 44 ms of pickup latency on this machine.
            noDelay: true,
            timeout: this.options.connectTimeoutMs,
            ...(this.options.tls ?? {}),
          }),
          this.options.connectTimeoutMs,
        );
        const publisher = await connection.createConfirmChannel();
        publisher.on('error', () => {});
        connection.on('error', () => {});
        const session: Session = { connection, publisher };
        connection.once('close', () => this.#lost(session));
        return session;
      } catch (error) {
        if (first || this.#closed) {
          this.#session = undefined;
          // Typed by cause: a refused login, a TLS failure (not retryable), or unreachable.
          throw amqpConnectFailure(
            describeUrl(this.options.url),
            amqpUser(this.options.url),
            error,
            this.name,
          );
        }
        for (const listener of this.#sessionListeners) listener(error);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.options.reconnectMaxDelayMs);
      }
    }
  }

  /** The connection dropped: reconnect, re-declare, resume consumers. */
  #lost(session: Session): void {
    if (this.#closed) return;
    const error = new BrokerConnectionError('connection to RabbitMQ lost; reconnecting', {
      transport: this.name,
    });
    for (const listener of this.#sessionListeners) listener(error);
    for (const consumer of this.#consumers) consumer.generation += 1;
    void session;
    this.#ladder = undefined;
    const next = this.#openSession(false).then(async (fresh) => {
      if (this.options.declare) {
        for (const spec of this.#declared.values()) await this.#declare(fresh, spec).catch(() => {});
      }
      for (const consumer of this.#consumers) {
        if (!consumer.stopped) await consumer.start(await this.#channel(fresh)).catch(() => {});
      }
      return fresh;
    });
    next.catch(() => {});
    this.#session = next;
  }

  #mapError(error: unknown, what: string): ConveyorError {
    if (error instanceof ConveyorError) return error;
    const text = String((error as Error)?.message ?? error);
    // A missing permission closes the channel too, but no reconnect will grant it.
    if (/ACCESS[-_]REFUSED/.test(text)) {
      return new BrokerError(`${what} failed: the RabbitMQ user lacks a permission: ${text}`, {
        cause: error,
        transport: this.name,
      });
    }
    if (/closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|heartbeat/i.test(text)) {
      return new BrokerConnectionError(`${what} failed: ${text}`, { cause: error, transport: this.name });
    }
    return new BrokerError(`${what} failed: ${text}`, { cause: error, transport: this.name });
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new TransportClosedError(operation, { transport: this.name });
  }
}

/** What a dead letter keeps even when its headers must shrink: why and where from, and who it is. */
const DEAD_LETTER_KEEPS: ReadonlySet<string> = new Set([
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  'task',
  'id',
]);

/** A 406 over the dead-letter arguments only: the queue exists without (or with other) routing. */
/**
 * Declares a dead-letter queue with its source's arguments minus the dead-letter route and the
 * delivery limit, as a queue with `deadLetterQueue: null` is declared, so the two agree. One declared by an earlier version with the source's delivery limit
 * is kept as it is (a declaration would fail with PRECONDITION_FAILED on `x-delivery-limit`); a
 * policy or re-creating it removes the limit.
 */
async function assertDeadLetterQueue(
  channel: Channel,
  dlq: string,
  args: Record<string, unknown>,
): Promise<void> {
  try {
    await channel.assertQueue(dlq, { durable: true, arguments: args });
  } catch (error) {
    if (!/inequivalent arg 'x-delivery-limit'/.test(String((error as Error)?.message ?? error))) throw error;
  }
}

function isInequivalentDeadLettering(error: unknown): boolean {
  return /inequivalent arg 'x-dead-letter-(exchange|routing-key)'/.test(
    String((error as Error)?.message ?? error),
  );
}

function withHeartbeat(url: string, seconds: number): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=${seconds}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
