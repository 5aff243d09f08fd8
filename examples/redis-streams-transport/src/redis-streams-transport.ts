import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  BrokerConnectionError,
  BrokerError,
  type ConsumeOptions,
  ConveyorError,
  checkHealth,
  checkPrefetch,
  checkPublish,
  type DeliveryHandler,
  type DeliveryPort,
  decodeKombuEnvelope,
  defineCapabilities,
  encodeKombuEnvelope,
  type HealthStatus,
  HeldDeliveries,
  handToHandler,
  InvalidOptionError,
  MalformedMessageError,
  onAbort,
  PrefetchWindow,
  type PublishEntry,
  type PublishOptions,
  type QueueDepth,
  type QueueSpec,
  type Transport,
  type TransportCapabilities,
  TransportClosedError,
  TransportDelivery,
  type WireMessage,
} from '@conveyor/core/transport';
import { Redis } from 'ioredis';
import {
  optionsFromUrl,
  type RedisStreamsOptions,
  type ResolvedRedisStreamsOptions,
  resolveOptions,
  streamKey,
} from './options.js';
import { type SettleCommand, withSettleScript } from './settle-script.js';
import { StreamConsumer } from './stream-consumer.js';
import { DELIVERIES_FIELD, PAYLOAD_FIELD, type StreamEntry } from './stream-entry.js';

/** The consumer group every Conveyor consumer of a stream joins: each entry goes to one of them. */
export const CONSUMER_GROUP = 'conveyor';

/** What identifies a handed-out entry to Redis. */
interface EntryReceipt {
  readonly stream: string;
  readonly id: string;
  /** Fixed at hand-out; a requeued copy carries it on. */
  readonly deliveryCount: number;
  /** Epoch ms after which this connection gives the entry back itself (a handler that hangs). */
  readonly deadline: number;
}

/**
 * A Conveyor transport on Redis Streams: a stream per queue, one consumer group, XREADGROUP to take,
 * a Lua script to ack / requeue only what this consumer still holds, XAUTOCLAIM after the
 * visibility timeout, a stream `<queue>.dlq` for dead letters. Everything a delivery does is the
 * shared TransportDelivery; this class supplies the broker primitives (its DeliveryPort).
 */
export class RedisStreamsTransport implements Transport {
  readonly name = 'redis-streams';
  readonly capabilities: TransportCapabilities;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedRedisStreamsOptions;

  /** This connection's name in every consumer group: pending entries are recorded under it. */
  readonly #consumerName = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  #command: (Redis & SettleCommand) | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  readonly #held = new HeldDeliveries();
  /** The open delivery of each entry (`stream id`), to notice when XAUTOCLAIM hands it out again. */
  readonly #deliveries = new Map<string, TransportDelivery<EntryReceipt>>();
  readonly #consumers = new Set<StreamConsumer>();
  readonly #consumedStreams = new Set<string>();
  readonly #deadLetterQueues = new Map<string, string | null>();
  readonly #port: DeliveryPort<EntryReceipt>;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  /** Opens `redis+streams://[user:password@]host[:port][/db][?keyPrefix=…&visibilityTimeoutMs=…]`. */
  static fromUrl(url: string): RedisStreamsTransport {
    return new RedisStreamsTransport(optionsFromUrl(url));
  }

  constructor(options: RedisStreamsOptions = {}) {
    this.options = resolveOptions(options);
    this.capabilities = defineCapabilities({
      // A stream cannot hold an entry back until a time: no delays (the Worker then keeps an early
      // task in memory until its eta, as Celery does). No priorities: one stream is one order.
      delay: { mode: 'none' },
      priorityLevels: 0,
      // One consumer reads a stream in the order it was written; redeliveries go to the end.
      ordering: 'queue',
      deadLetter: true,
      maxMessageBytes: 1024 * 1024,
      // MULTI … EXEC: one round trip.
      batchPublish: true,
      // Other consumers take an entry over once it is idle longer than their timeout (XAUTOCLAIM);
      // holding it longer would need a heartbeat that resets its idle time (XCLAIM … JUSTID), which
      // this example leaves out. Not claimed, so extendVisibility() throws UnsupportedFeatureError.
      visibilityExtension: false,
      deduplication: false,
      redelivery: { trigger: 'visibility-timeout', visibilityTimeoutMs: this.options.visibilityTimeoutMs },
    });
    this.#port = {
      transportName: this.name,
      capabilities: this.capabilities,
      leaseLostReason: 'its visibility timeout ran out',
      // Delays are not claimed, so TransportDelivery never asks for a delayed requeue.
      settle: async (receipt, settlement) => {
        const requeueWith = settlement.kind === 'requeue' ? String(receipt.deliveryCount) : '';
        const settled = await this.#settle(receipt.stream, receipt.id, requeueWith);
        this.#forget(receipt);
        return settled;
      },
      deadLetterQueueOf: (queue) => {
        const declared = this.#deadLetterQueues.get(queue);
        return declared === undefined ? `${queue}.dlq` : declared;
      },
      publishDeadLetter: (deadLetterQueue: string, letter: WireMessage) =>
        this.#add(deadLetterQueue, [letter]),
    };
  }

  async connect(): Promise<void> {
    this.#assertOpen('connect');
    this.#connecting ??= this.#open();
    try {
      await this.#connecting;
    } catch (error) {
      this.#connecting = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    await this.#connecting?.catch(() => {});
    await Promise.all([...this.#consumers].map((consumer) => consumer.stop()));
    // Give back what this connection holds: each entry is written again with its delivery count.
    const unsettled = this.#held.closeAll<TransportDelivery<EntryReceipt>>();
    await Promise.allSettled(
      unsettled.map(({ receipt }) => this.#settle(receipt.stream, receipt.id, String(receipt.deliveryCount))),
    );
    this.#deliveries.clear();
    await Promise.allSettled([...this.#consumedStreams].map((stream) => this.#leaveGroup(stream)));
    await this.#command?.quit().catch(() => this.#command?.disconnect());
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.#assertOpen('declareQueue');
    if (typeof spec?.name !== 'string' || spec.name === '')
      throw new InvalidOptionError('name', 'must be a non-empty string', { transport: this.name });
    const deadLetterQueue = spec.deadLetterQueue === undefined ? `${spec.name}.dlq` : spec.deadLetterQueue;
    this.#deadLetterQueues.set(spec.name, deadLetterQueue);
    await this.#createGroup(spec.name);
    if (deadLetterQueue !== null) await this.#createGroup(deadLetterQueue);
  }

  async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    this.#assertOpen('publish');
    checkPublish(this.name, this.capabilities, message, options);
    await this.#add(queue, [message]);
  }

  async publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    this.#assertOpen('publishBatch');
    // Check all first: a batch with one bad entry stores nothing.
    for (const entry of entries) checkPublish(this.name, this.capabilities, entry.message, entry.options);
    await this.#add(
      queue,
      entries.map((entry) => entry.message),
    );
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    this.#assertOpen('consume');
    checkPrefetch(this.name, options?.prefetch);
    if (options.signal?.aborted) return;
    await this.#createGroup(queue);
    const command = this.#command!;
    // Blocking reads: one command at a time on this connection, nothing to pipeline.
    const reader = command.duplicate({
      connectionName: 'conveyor-streams:read',
      enableAutoPipelining: false,
    });
    reader.on('error', () => {}); // reported through the loop's failed calls; ioredis reconnects
    await this.#call('connect', () => reader.connect());
    const stream = streamKey(this.options, queue);
    const window = new PrefetchWindow(options.prefetch, () => consumer.wake());
    const consumer: StreamConsumer = new StreamConsumer({
      reader,
      control: command,
      stream,
      group: CONSUMER_GROUP,
      consumer: this.#consumerName,
      window,
      visibilityTimeoutMs: this.options.visibilityTimeoutMs,
      hand: (entry, deliveryCount) => this.#hand(queue, stream, entry, deliveryCount, window, handler),
      giveBack: async (entry) => {
        await this.#settle(stream, entry.id, String(entry.earlierDeliveries));
      },
      ensureGroup: () => this.#createGroup(queue),
      onError: options.onError ?? (() => {}),
    });
    this.#consumers.add(consumer);
    this.#consumedStreams.add(stream);
    void consumer.done.finally(() => {
      this.#consumers.delete(consumer);
      reader.disconnect();
    });
    onAbort(options.signal, () => void consumer.stop());
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.#assertOpen('queueDepth');
    await this.connect();
    const stream = streamKey(this.options, queue);
    const [length, pending] = await this.#call('queueDepth', () =>
      Promise.all([
        this.#command!.xlen(stream),
        // [count, first id, last id, consumers]; a stream nobody consumed yet has no group.
        this.#command!.xpending(stream, CONSUMER_GROUP).catch((): unknown[] => [0]),
      ]),
    );
    const inFlight = Number(pending[0] ?? 0);
    return { ready: length - inFlight, inFlight, delayed: 0 };
  }

  health(): Promise<HealthStatus> {
    return checkHealth(this.#closed, async () => {
      await this.connect();
      await this.#command!.ping();
    });
  }

  async #open(): Promise<void> {
    const { host, port, db, username, password } = this.options;
    const command = new Redis({
      host,
      port,
      db,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      connectionName: 'conveyor-streams:command',
      lazyConnect: true,
      enableAutoPipelining: true,
      // A call on a dropped connection is retried twice after reconnecting, then fails: the caller
      // learns that it did not happen (a transport never retries on its own beyond that).
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    });
    command.on('error', () => {}); // reported through failed calls; ioredis reconnects by itself
    try {
      await command.connect();
    } catch (error) {
      command.disconnect();
      throw new BrokerConnectionError(
        `cannot connect to Redis at ${host}:${port}/${db}: ${messageOf(error)}`,
        {
          cause: error,
          transport: this.name,
        },
      );
    }
    this.#command = withSettleScript(command);
    const every = Math.min(5000, Math.max(100, this.options.visibilityTimeoutMs / 4));
    this.#sweepTimer = setInterval(() => this.#giveBackExpired(), every);
    this.#sweepTimer.unref();
  }

  /**
   * The visibility timeout of a live consumer: what this connection has held longer than its
   * timeout (a hung handler) goes back to the stream, and the old delivery's settles report
   * LeaseLostError. Entries of a consumer that died are taken over by the others (XAUTOCLAIM in
   * StreamConsumer) once they are idle longer than the claimer's own timeout.
   */
  #giveBackExpired(): void {
    const now = Date.now();
    for (const delivery of this.#held as Iterable<TransportDelivery<EntryReceipt>>) {
      const { receipt } = delivery;
      if (receipt.deadline > now || !delivery.loseLease()) continue;
      this.#forget(receipt);
      this.#settle(receipt.stream, receipt.id, String(receipt.deliveryCount)).catch(() => {
        // Redis unreachable: the entry stays pending, and is claimed once Redis is back.
      });
    }
  }

  /** Drops the delivery of an entry from the index, unless the entry was handed out again since. */
  #forget(receipt: EntryReceipt): void {
    const key = `${receipt.stream} ${receipt.id}`;
    if (this.#deliveries.get(key)?.receipt === receipt) this.#deliveries.delete(key);
  }

  /** Wraps an entry in a delivery and hands it to the consumer's handler. */
  #hand(
    queue: string,
    stream: string,
    entry: StreamEntry,
    deliveryCount: number,
    window: PrefetchWindow,
    handler: DeliveryHandler,
  ): void {
    const key = `${stream} ${entry.id}`;
    const previous = this.#deliveries.get(key);
    // Claimed again by this very connection: its settle is on the way, or the old lease is over.
    if (previous?.state === 'settling') return;
    previous?.loseLease();
    let message: WireMessage | null = null;
    let malformed: MalformedMessageError | null = null;
    try {
      message = decodeKombuEnvelope(entry.payload).message;
    } catch (error) {
      malformed = error instanceof MalformedMessageError ? error : new MalformedMessageError(String(error));
    }
    const delivery = new TransportDelivery<EntryReceipt>({
      port: this.#port,
      held: this.#held,
      window,
      receipt: {
        stream,
        id: entry.id,
        deliveryCount,
        deadline: Date.now() + this.options.visibilityTimeoutMs,
      },
      queue,
      message,
      malformed,
      raw: entry.payload,
      deliveryCount,
    });
    this.#deliveries.set(key, delivery);
    handToHandler(handler, delivery, this.options.onHandlerError);
  }

  /** XADDs messages to a queue's stream, several in one MULTI. */
  async #add(queue: string, messages: readonly WireMessage[]): Promise<void> {
    await this.connect();
    const stream = streamKey(this.options, queue);
    const envelope = (message: WireMessage): string =>
      encodeKombuEnvelope(message, { exchange: '', routing_key: queue }, randomUUID());
    await this.#call('publish', async () => {
      if (messages.length === 1) {
        await this.#command!.xadd(stream, '*', PAYLOAD_FIELD, envelope(messages[0]!), DELIVERIES_FIELD, '0');
        return;
      }
      const multi = this.#command!.multi();
      for (const message of messages) {
        multi.xadd(stream, '*', PAYLOAD_FIELD, envelope(message), DELIVERIES_FIELD, '0');
      }
      const results = await multi.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    });
  }

  /** Runs the settle script; false when this consumer no longer held the entry. */
  async #settle(stream: string, id: string, requeueWith: string): Promise<boolean> {
    const command = this.#command!;
    const settled = await this.#call('settle', () =>
      command.settleEntry(stream, CONSUMER_GROUP, this.#consumerName, id, requeueWith),
    );
    return settled === 1;
  }

  /**
   * Removes this connection's name from a stream's group, so names do not pile up, one per
   * connection ever made. Only when nothing is pending under it: DELCONSUMER drops pending entries.
   */
  async #leaveGroup(stream: string): Promise<void> {
    const command = this.#command!;
    const pending = await command.xpending(stream, CONSUMER_GROUP, '-', '+', 1, this.#consumerName);
    if (pending.length === 0) await command.xgroup('DELCONSUMER', stream, CONSUMER_GROUP, this.#consumerName);
  }

  /** XGROUP CREATE … 0 MKSTREAM: the group reads the stream from its first entry. */
  async #createGroup(queue: string): Promise<void> {
    await this.connect();
    const stream = streamKey(this.options, queue);
    await this.#call('declareQueue', () =>
      this.#command!.xgroup('CREATE', stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch((error: unknown) => {
        if (!messageOf(error).startsWith('BUSYGROUP')) throw error; // BUSYGROUP: it exists already
      }),
    );
  }

  /** Runs a Redis call; its failure becomes a ConveyorError saying whether a retry can help. */
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ConveyorError) throw error;
      const text = messageOf(error);
      const options = { cause: error, transport: this.name };
      if (/Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|max retries per request/i.test(text))
        throw new BrokerConnectionError(`${what} failed: ${text}`, options);
      throw new BrokerError(`${what} failed: ${text}`, options);
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new TransportClosedError(operation, { transport: this.name });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
