import { randomUUID } from 'node:crypto';
import {
  BrokerConnectionError,
  BrokerError,
  type ConsumeOptions,
  ConveyorError,
  checkHealth,
  checkPrefetch,
  checkPriority,
  checkPublish,
  type DeliveryHandler,
  type DeliveryPort,
  defineCapabilities,
  encodeKombuEnvelope,
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
  type TransportDelivery,
  type WireMessage,
} from '@conveyor/core/transport';
import { Cluster } from 'ioredis';
import { connectFailure, describeTarget, openConnection, type RedisConnection } from './connection.js';
import { type DelayedRelease, DelayedReleaser, findDelayedQueues } from './delayed-release.js';
import { type RedisTransportOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';
import { bucketOf, kombuPriorityOf, type QueueKeys, queueKeys, REDIS_PRIORITY_LEVELS } from './queue-keys.js';
import { RedisBroadcast } from './redis-broadcast.js';
import { REDELIVERY_COUNT_RETENTION_MS, RedisConsumer, type RedisConsumerLink } from './redis-consumer.js';
import { loadScripts, type ScriptCaller } from './scripts.js';
import {
  describePersistence,
  evictionWarning,
  type RedisWarning,
  readDurability,
  readEvictionPolicy,
} from './server-durability.js';
import { SettleBatcher } from './settle-batcher.js';

/** Most expired or due messages one take moves, so a backlog never makes one call slow. */
const HOUSEKEEPING_LIMIT = 500;

/**
 * Conveyor on Redis. Ready messages live in kombu's lists (so Python Celery shares queues);
 * taking a message and recording it as in flight is one Lua script (no loss window); expired
 * deliveries are restored and due delayed messages released by whichever worker takes next.
 */
export class RedisTransport implements Transport {
  readonly name = 'redis';
  readonly capabilities: TransportCapabilities;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedRedisOptions;
  /** kombu's fanout (PUBLISH/PSUBSCRIBE), for Celery's events: see RedisBroadcast. */
  readonly broadcast: RedisBroadcast;
  #command: RedisConnection | undefined;
  #subscriber: RedisConnection | undefined;
  #scripts: ScriptCaller | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  readonly #consumers = new Map<string, Set<RedisConsumer>>();
  readonly #batchers = new Map<string, SettleBatcher>();
  readonly #deadLetterQueues = new Map<string, string | null>();
  readonly #held = new HeldDeliveries();
  readonly #hashTags: boolean;
  readonly #releaser = new DelayedReleaser({
    release: (queue) => this.#releaseQueue(queue),
    wake: (queue) => void this.#command?.publish(this.#keysOf(queue).wake, '1').catch(() => {}),
  });

  constructor(options: RedisTransportOptions | string = {}) {
    this.options = resolveRedisOptions(typeof options === 'string' ? { url: options } : options);
    this.#hashTags = this.options.cluster !== undefined;
    this.capabilities = defineCapabilities({
      // Emulated: Redis parks delays in a zset that only Conveyor processes release (DelayedReleaser,
      // take), so the Client sends Celery's way (eta header) by default; see "Delayed tasks".
      delay: { mode: 'emulated', maxDelayMs: null, precisionMs: 50 },
      priorityLevels: REDIS_PRIORITY_LEVELS,
      ordering: 'queue',
      deadLetter: true,
      maxMessageBytes: this.options.maxMessageBytes,
      batchPublish: true,
      visibilityExtension: true,
      deduplication: false,
      redelivery: { trigger: 'visibility-timeout', visibilityTimeoutMs: this.options.visibilityTimeoutMs },
      broadcast: true,
    });
    this.broadcast = new RedisBroadcast({
      options: this.options,
      command: async () => {
        await this.connect();
        return this.#command!;
      },
      assertOpen: (operation) => this.#assertOpen(operation),
    });
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

  async #open(): Promise<void> {
    const command = openConnection(this.options, 'cmd');
    command.on('error', () => {}); // reported through failed calls; ioredis reconnects by itself
    try {
      await withTimeout(
        command.connect().then(() => this.#checkServer(command)),
        this.options.connectTimeoutMs,
        'connect',
      );
    } catch (error) {
      command.disconnect();
      // Typed by cause: refused credentials, a TLS failure (not retryable), or unreachable.
      throw connectFailure(this.options, command, error, this.name);
    }
    this.#command = command;
    this.#scripts = loadScripts(command);
  }

  /**
   * Warns (onWarning) when a server may drop accepted tasks by itself: any `maxmemory-policy` but
   * `noeviction`, or a server that will not say. Never fails the connect: managed services often
   * disable CONFIG, and a warning must not cost a worker its start.
   */
  async #checkServer(command: RedisConnection): Promise<void> {
    const nodes = command instanceof Cluster ? command.nodes('master') : [command];
    for (const node of nodes) {
      const where =
        nodes.length > 1 ? `${node.options.host}:${node.options.port}` : describeTarget(this.options);
      const warning = evictionWarning(where, await readEvictionPolicy(node));
      if (warning) this.#warn(warning);
    }
  }

  #warn(warning: RedisWarning): void {
    try {
      (this.options.onWarning ?? emitRedisWarning)(warning);
    } catch {
      // A throwing warning handler must not break the connect.
    }
  }

  /**
   * Facts about the server's own settings that decide what it keeps, in words, for `conveyor
   * inspect` (which prints whatever a transport's `brokerFacts()` returns): version, eviction
   * policy and persistence with the loss it allows. One set per master on a Cluster. Settings the
   * server refuses to tell (CONFIG disabled on managed Redis) say so.
   */
  async brokerFacts(): Promise<Record<string, string>> {
    this.#assertOpen('brokerFacts');
    await this.connect();
    const command = this.#command!;
    const nodes = command instanceof Cluster ? command.nodes('master') : [command];
    const facts: Record<string, string> = {};
    for (const node of nodes) {
      const d = await readDurability(node);
      const at = nodes.length > 1 ? ` ${node.options.host}:${node.options.port}` : '';
      facts[`server${at}`] = d.version === null ? 'Redis (version not told)' : `Redis ${d.version}`;
      facts[`persistence${at}`] = describePersistence(d);
      const policy = d.maxmemoryPolicy;
      facts[`maxmemory-policy${at}`] =
        policy === null
          ? 'unknown (INFO and CONFIG GET refused)'
          : policy === 'noeviction'
            ? 'noeviction: a full Redis refuses new tasks and drops none'
            : `${policy}: a full Redis evicts keys (see the warning at connect)`;
    }
    return facts;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#releaser.stop();
    const consumers = [...this.#consumers.values()].flatMap((set) => [...set]);
    for (const consumer of consumers) consumer.stop();
    // A take on its way hands its messages back itself (consumer stopped); wait for it.
    await Promise.allSettled(consumers.map((consumer) => consumer.idle()));
    // Settlements already requested (acks, nacks, hand-backs) must reach Redis before QUIT.
    await Promise.allSettled([...this.#batchers.values()].map((batcher) => batcher.drain()));
    // Give back what this connection holds, newest first, so the oldest is consumed first again.
    const held = this.#held.closeAll<TransportDelivery<string>>().reverse();
    if (held.length > 0 && this.#scripts) {
      const byQueue = new Map<string, string[]>();
      for (const delivery of held) {
        const args = byQueue.get(delivery.queue) ?? [];
        args.push('n', delivery.receipt, '');
        byQueue.set(delivery.queue, args);
      }
      await Promise.allSettled([...byQueue].map(([queue, args]) => this.#settleArgs(queue, args)));
    }
    await Promise.allSettled([this.broadcast.close(), quit(this.#subscriber), quit(this.#command)]);
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.#assertOpen('declareQueue');
    if (typeof spec?.name !== 'string' || spec.name === '')
      throw new InvalidOptionError('name', 'must be a non-empty string');
    if (spec.priorityLevels !== undefined && spec.priorityLevels > REDIS_PRIORITY_LEVELS) {
      checkPriority(this.name, this.capabilities, spec.priorityLevels - 1);
    }
    // Redis creates lists on first push: declaring only records where rejected messages go.
    this.#deadLetterQueues.set(
      spec.name,
      spec.deadLetterQueue === undefined ? `${spec.name}.dlq` : spec.deadLetterQueue,
    );
  }

  /** Dead-letter queue of `queue` (`<queue>.dlq` unless declared otherwise), or null for none. */
  #deadLetterQueueOf(queue: string): string | null {
    const declared = this.#deadLetterQueues.get(queue);
    return declared === undefined ? `${queue}.dlq` : declared;
  }

  async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    await this.publishBatch(queue, [options ? { message, options } : { message }]);
  }

  async publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    this.#assertOpen('publish');
    for (const entry of entries) checkPublish(this.name, this.capabilities, entry.message, entry.options);
    await this.connect();
    const keys = this.#keysOf(queue);
    const ready: string[][] = [[], [], [], []];
    const delayed: (string | number)[] = [];
    for (const { message, options } of entries) {
      const bucket = bucketOf(options?.priority ?? message.properties.priority);
      const tag = randomUUID();
      const raw = encodeKombuEnvelope(
        message,
        { exchange: '', routing_key: queue },
        tag,
        kombuPriorityOf(bucket),
      );
      const delayMs = options?.delayMs ?? 0;
      if (delayMs > 0) delayed.push(Math.ceil(delayMs), `${tag}|${bucket}|${raw}`);
      else ready[bucket - 1]!.push(raw);
    }
    const command = this.#command!;
    const writes: Promise<unknown>[] = [];
    ready.forEach((raws, i) => {
      if (raws.length > 0) writes.push(command.lpush(keys.ready[i]!, ...raws));
    });
    if (delayed.length > 0) writes.push(this.#script('delay', [keys.delayed], delayed));
    // Sent right behind the writes on the same connection, so Redis runs it after them: a woken
    // consumer finds the messages. A lost wake-up only costs one poll interval.
    command.publish(keys.wake, '1').catch(() => {});
    try {
      await Promise.all(writes);
    } catch (error) {
      throw this.#mapError(error, `publish to "${queue}"`);
    }
    if (delayed.length > 0) {
      // Redis never releases them by itself: this transport does, while connected (see DelayedReleaser).
      this.#releaser.watch(queue, Math.min(...delayed.filter((_, i) => i % 2 === 0).map(Number)));
    }
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    this.#assertOpen('consume');
    checkPrefetch(this.name, options?.prefetch);
    await this.connect();
    if (options.signal?.aborted) return;
    const keys = this.#keysOf(queue);
    const onError = options.onError ?? (() => {});
    const consumer = new RedisConsumer(this.#linkOf(queue, keys), handler, options.prefetch, onError);
    let set = this.#consumers.get(queue);
    if (!set) {
      set = new Set();
      this.#consumers.set(queue, set);
    }
    set.add(consumer);
    try {
      await this.#subscribe(keys.wake);
    } catch (error) {
      set.delete(consumer);
      throw this.#mapError(error, `subscribing to the wake-ups of "${queue}"`);
    }
    onAbort(options.signal, () => {
      consumer.stop();
      set.delete(consumer);
    });
    if (!options.signal?.aborted) consumer.kick();
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.#assertOpen('queueDepth');
    await this.connect();
    const keys = this.#keysOf(queue);
    const command = this.#command!;
    try {
      const [lengths, inFlight, delayed] = await Promise.all([
        Promise.all(keys.ready.map((key) => command.llen(key))),
        command.zcard(keys.inflight),
        command.zcard(keys.delayed),
      ]);
      return { ready: lengths.reduce((a, b) => a + b, 0), inFlight, delayed };
    } catch (error) {
      throw this.#mapError(error, `queueDepth of "${queue}"`);
    }
  }

  /**
   * Moves the due delayed messages of `queues` (default: every queue that has a delayed set under
   * this transport's key prefix) to their ready lists now, where any consumer, Python Celery
   * included, finds them. What `conveyor scheduler` runs; consumers and publishers of delays do it
   * by themselves.
   */
  async releaseDelayed(queues?: readonly string[]): Promise<DelayedRelease> {
    this.#assertOpen('releaseDelayed');
    await this.connect();
    let names: string[];
    try {
      names = queues
        ? [...queues]
        : await findDelayedQueues(this.#command!, this.options.keyPrefix, this.#hashTags);
    } catch (error) {
      throw this.#mapError(error, 'finding delayed queues');
    }
    const out: DelayedRelease = { queues: names, released: {}, total: 0, nextDueInMs: null };
    for (const queue of names) {
      const { moved, nextDueInMs } = await this.#releaseQueue(queue);
      if (moved > 0) {
        out.released[queue] = moved;
        out.total += moved;
        void this.#command!.publish(this.#keysOf(queue).wake, '1').catch(() => {});
      }
      if (nextDueInMs !== null) out.nextDueInMs = Math.min(out.nextDueInMs ?? nextDueInMs, nextDueInMs);
    }
    return out;
  }

  async #releaseQueue(queue: string): Promise<{ moved: number; nextDueInMs: number | null }> {
    const keys = this.#keysOf(queue);
    try {
      const [moved, nextDue, now] = (await this.#script(
        'release',
        [...keys.ready, keys.delayed],
        [HOUSEKEEPING_LIMIT],
      )) as [number, string | number, number];
      const next = Number(nextDue);
      return { moved: Number(moved), nextDueInMs: next < 0 ? null : Math.max(0, next - Number(now)) };
    } catch (error) {
      throw this.#mapError(error, `release delayed messages of "${queue}"`);
    }
  }

  health(): Promise<HealthStatus> {
    return checkHealth(this.#closed, async () => {
      await this.connect();
      await this.#command!.ping();
    });
  }

  /** Keys of a queue under this transport's prefix and Cluster setting. */
  #keysOf(queue: string): QueueKeys {
    return queueKeys(queue, this.options.keyPrefix, this.#hashTags);
  }

  /** Calls a named Lua script on the command connection. */
  #script(...call: Parameters<ScriptCaller>): Promise<unknown> {
    if (!this.#scripts)
      throw new TransportClosedError('script call before connect', { transport: this.name });
    return this.#scripts(...call);
  }

  /** What a consumer of `queue` may use of this transport (see RedisConsumerLink). */
  #linkOf(queue: string, keys: QueueKeys): RedisConsumerLink {
    const batcher = this.#batcherOf(queue);
    const port: DeliveryPort<string> = {
      transportName: this.name,
      capabilities: this.capabilities,
      leaseLostReason: 'its visibility timeout ran out',
      settle(receipt, settlement) {
        if (settlement.kind === 'ack') return batcher.push('a', receipt);
        if (settlement.kind === 'dead-lettered') return batcher.push('r', receipt);
        if (settlement.delayMs > 0) return batcher.push('d', receipt, String(Math.ceil(settlement.delayMs)));
        return batcher.push('n', receipt);
      },
      deadLetterQueueOf: (name) => this.#deadLetterQueueOf(name),
      publishDeadLetter: (deadLetterQueue, letter) => this.publish(deadLetterQueue, letter),
      extendVisibility: (receipt, ms) => batcher.push('x', receipt, String(Math.ceil(ms))),
    };
    const takeKeys = [
      ...keys.ready,
      keys.inflight,
      keys.payload,
      keys.delayed,
      keys.counts,
      keys.sequence,
      keys.countsAge,
    ];
    return {
      queue,
      port,
      held: this.#held,
      pollIntervalMs: this.options.pollIntervalMs,
      take: async (count) => {
        try {
          return (await this.#script(
            'take',
            takeKeys,
            [count, this.options.visibilityTimeoutMs, HOUSEKEEPING_LIMIT, REDELIVERY_COUNT_RETENTION_MS],
            'bytes',
          )) as Buffer[];
        } catch (error) {
          // Typed for the consumer's onError: a user refused by an ACL gets a BrokerError saying so.
          throw this.#mapError(error, `take from "${queue}"`);
        }
      },
      sendSettles: () => batcher.flush(),
      handBack: (receipt) => batcher.push('n', receipt),
    };
  }

  #batcherOf(queue: string): SettleBatcher {
    let batcher = this.#batchers.get(queue);
    if (!batcher) {
      batcher = new SettleBatcher((args) => this.#settleArgs(queue, args));
      this.#batchers.set(queue, batcher);
    }
    return batcher;
  }

  async #settleArgs(queue: string, args: string[]): Promise<number[]> {
    const keys = this.#keysOf(queue);
    try {
      return (await this.#script(
        'settle',
        [...keys.ready, keys.inflight, keys.payload, keys.delayed, keys.counts, keys.countsAge],
        args,
      )) as number[];
    } catch (error) {
      throw this.#mapError(error, `settle on "${queue}"`);
    }
  }

  async #subscribe(channel: string): Promise<void> {
    if (!this.#subscriber) {
      const subscriber = openConnection(this.options, 'sub');
      subscriber.on('error', () => {});
      subscriber.on('message', (ch: string) => this.#wake(ch));
      this.#subscriber = subscriber;
      await subscriber.connect();
    }
    await this.#subscriber.subscribe(channel);
  }

  #wake(channel: string): void {
    for (const [queue, consumers] of this.#consumers) {
      if (this.#keysOf(queue).wake !== channel) continue;
      for (const consumer of consumers) consumer.kick();
    }
  }

  #mapError(error: unknown, what: string): ConveyorError {
    if (error instanceof ConveyorError) return error;
    const text = messageOf(error);
    if (
      /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|MaxRetriesPerRequest|Stream isn't writeable/i.test(
        text,
      )
    ) {
      return new BrokerConnectionError(`${what} failed: ${text}`, { cause: error, transport: this.name });
    }
    return new BrokerError(`${what} failed: ${text}`, { cause: error, transport: this.name });
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new TransportClosedError(operation, { transport: this.name });
  }
}

const warned = new Set<string>();

/** The default onWarning: a process warning, once per process for the same message. */
function emitRedisWarning(warning: RedisWarning): void {
  if (warned.has(warning.message)) return;
  warned.add(warning.message);
  process.emitWarning(warning.message, { type: 'ConveyorWarning', code: warning.code });
}

/** Rejects after `ms`: a broker that never answers must fail, not hang (ioredis retries forever). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function quit(connection: RedisConnection | undefined): Promise<void> {
  if (!connection) return;
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}
