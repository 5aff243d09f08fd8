import type { DeliveryPort, Settlement } from '../delivery/delivery-port.js';
import { handToHandler } from '../delivery/hand-to-handler.js';
import { HeldDeliveries } from '../delivery/held-deliveries.js';
import { PrefetchWindow } from '../delivery/prefetch-window.js';
import { TransportDelivery } from '../delivery/transport-delivery.js';
import { MalformedMessageError } from '../errors/message-errors.js';
import { InvalidOptionError, TransportClosedError } from '../errors/transport-errors.js';
import { decodeKombuEnvelope } from '../message/kombu-envelope.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  type CapabilitiesInput,
  defineCapabilities,
  type TransportCapabilities,
} from '../transport/capabilities.js';
import { checkHealth } from '../transport/health-check.js';
import { checkPrefetch, checkPublish } from '../transport/publish-checks.js';
import type {
  ConsumeOptions,
  DeliveryHandler,
  HealthStatus,
  PublishEntry,
  PublishOptions,
  QueueDepth,
  QueueSpec,
  Transport,
} from '../transport/transport.js';
import { MEMORY_PRIORITY_LEVELS, MemoryBroker } from './memory-broker.js';
import type { MemoryConsumer } from './memory-consumer.js';
import type { MemoryQueue } from './memory-queue.js';
import type { StoredMessage } from './stored-message.js';

/** Options of MemoryTransport. */
export interface MemoryTransportOptions {
  /** The broker to connect to: an object, or the name of a process-wide one. Default `default`. */
  broker?: MemoryBroker | string;
  /**
   * Unsettled deliveries are handed out again after this long (a hung consumer), like SQS's
   * visibility timeout. `null` disables it. Default 30 minutes.
   */
  visibilityTimeoutMs?: number | null;
  /** Largest body accepted. Default 1 MiB. */
  maxMessageBytes?: number;
  /**
   * Claims to withdraw, e.g. `{ priorityLevels: 0 }`, to rehearse a broker with fewer features.
   * Only narrows: what is given here is intersected with what MemoryTransport can do.
   */
  restrictCapabilities?: CapabilitiesInput;
  /** Where errors thrown by delivery handlers go. Default: console.error. */
  onHandlerError?: (error: unknown) => void;
}

const KNOWN_OPTIONS = new Set([
  'broker',
  'visibilityTimeoutMs',
  'maxMessageBytes',
  'restrictCapabilities',
  'onHandlerError',
]);

const DEFAULT_VISIBILITY_TIMEOUT_MS = 30 * 60_000;

/** What identifies a handed-out message to the in-memory broker. */
interface MemoryLease {
  readonly stored: StoredMessage;
  readonly queue: MemoryQueue;
  /** Epoch ms after which the visibility sweep hands the message out again. */
  deadline: number;
}

/**
 * The reference transport: the whole contract in process memory, with visibility timeouts and
 * redelivery, native delays, dead-lettering, 10 priority levels and an exact prefetch bound.
 * It is the embedded default (`memory://`) and the proof that the conformance suite can pass.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly capabilities: TransportCapabilities;
  /** The in-memory "server" this connection talks to. */
  readonly broker: MemoryBroker;
  /** Unsettled deliveries are handed out again after this long; null for never. */
  readonly visibilityTimeoutMs: number | null;

  #connected = false;
  #closed = false;
  readonly #consumers = new Set<{ consumer: MemoryConsumer; queue: string }>();
  readonly #held = new HeldDeliveries();
  readonly #port: DeliveryPort<MemoryLease>;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  readonly #onHandlerError: (error: unknown) => void;

  /** Opens `memory://` or `memory://<broker-name>?visibilityTimeoutMs=...&maxMessageBytes=...`. */
  static fromUrl(url: string): MemoryTransport {
    const parsed = new URL(url);
    const options: MemoryTransportOptions = { broker: parsed.hostname || 'default' };
    for (const [key, value] of parsed.searchParams) {
      if (key === 'visibilityTimeoutMs')
        options.visibilityTimeoutMs = value === 'null' ? null : Number(value);
      else if (key === 'maxMessageBytes') options.maxMessageBytes = Number(value);
      else throw new InvalidOptionError(key, 'unknown memory:// URL parameter');
    }
    return new MemoryTransport(options);
  }

  constructor(options: MemoryTransportOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new InvalidOptionError(key, 'unknown MemoryTransport option');
    }
    const visibility =
      options.visibilityTimeoutMs === undefined ? DEFAULT_VISIBILITY_TIMEOUT_MS : options.visibilityTimeoutMs;
    if (visibility !== null && !(Number.isFinite(visibility) && visibility > 0)) {
      throw new InvalidOptionError('visibilityTimeoutMs', 'must be a positive number of ms or null');
    }
    const maxBytes = options.maxMessageBytes ?? 1024 * 1024;
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
      throw new InvalidOptionError('maxMessageBytes', 'must be a positive integer');
    }
    const broker = options.broker ?? 'default';
    this.broker = typeof broker === 'string' ? MemoryBroker.named(broker) : broker;
    this.visibilityTimeoutMs = visibility;
    this.capabilities = narrow(
      {
        delay: { mode: 'native', maxDelayMs: null, precisionMs: 5 },
        priorityLevels: MEMORY_PRIORITY_LEVELS,
        ordering: 'queue',
        deadLetter: true,
        maxMessageBytes: maxBytes,
        batchPublish: true,
        visibilityExtension: visibility !== null,
        deduplication: true,
        redelivery: { trigger: 'immediate', visibilityTimeoutMs: visibility },
      },
      options.restrictCapabilities,
    );
    this.#onHandlerError =
      options.onHandlerError ??
      ((error) => console.error('[conveyor] [memory] delivery handler failed:', error));
    this.#port = memoryPort(this.name, this.capabilities, this.broker);
  }

  async connect(): Promise<void> {
    this.#assertOpen('connect');
    if (this.#connected) return;
    this.#connected = true;
    if (this.visibilityTimeoutMs !== null) {
      const every = Math.max(10, Math.min(1000, this.visibilityTimeoutMs / 4));
      this.#sweepTimer = setInterval(() => this.#sweepExpired(), every);
      this.#sweepTimer.unref?.();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    for (const { consumer, queue } of this.#consumers) this.broker.queue(queue).removeConsumer(consumer);
    this.#consumers.clear();
    // Give back every delivery this connection holds; newest first to the front, so the oldest
    // is handed out first again.
    const unsettled = this.#held.closeAll<TransportDelivery<MemoryLease>>();
    for (let i = unsettled.length - 1; i >= 0; i--) {
      const lease = unsettled[i]!.receipt;
      lease.queue.giveBack(lease.stored);
    }
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.#assertOpen('declareQueue');
    if (typeof spec?.name !== 'string' || spec.name === '')
      throw new InvalidOptionError('name', 'must be a non-empty string');
    const queue = this.broker.queue(spec.name);
    if (spec.deadLetterQueue !== undefined) queue.deadLetterQueue = spec.deadLetterQueue;
    if (queue.deadLetterQueue !== null) this.broker.queue(queue.deadLetterQueue);
  }

  async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    this.#assertOpen('publish');
    checkPublish(this.name, this.capabilities, message, options);
    this.#store(queue, message, null, options);
  }

  async publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    this.#assertOpen('publishBatch');
    // Validate all first: a batch with one bad entry stores nothing.
    for (const entry of entries) checkPublish(this.name, this.capabilities, entry.message, entry.options);
    for (const entry of entries) this.#store(queue, entry.message, null, entry.options);
  }

  /**
   * Stores bytes as they would arrive from a broker: a kombu JSON envelope, or garbage. Decoding
   * happens at delivery, so tests and interop checks can put any payload "on the wire".
   */
  async publishRaw(queue: string, raw: Uint8Array): Promise<void> {
    this.#assertOpen('publishRaw');
    this.#store(queue, null, raw, undefined);
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    this.#assertOpen('consume');
    checkPrefetch(this.name, options?.prefetch);
    if (options.signal?.aborted) return;
    const q = this.broker.queue(queue);
    const consumer = this.#consumer(q, handler, new PrefetchWindow(options.prefetch));
    const entry = { consumer, queue };
    this.#consumers.add(entry);
    q.addConsumer(consumer);
    options.signal?.addEventListener(
      'abort',
      () => {
        q.removeConsumer(consumer);
        this.#consumers.delete(entry);
      },
      { once: true },
    );
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.#assertOpen('queueDepth');
    const q = this.broker.queues.get(queue);
    if (!q) return { ready: 0, inFlight: 0, delayed: 0 };
    return { ready: q.readyCount, inFlight: q.inFlight, delayed: q.delayedCount };
  }

  health(): Promise<HealthStatus> {
    // Nothing to reach: the broker is this process.
    return checkHealth(this.#closed, () => Promise.resolve());
  }

  #store(
    queue: string,
    message: WireMessage | null,
    raw: Uint8Array | null,
    options: PublishOptions | undefined,
  ): void {
    const q = this.broker.queue(queue);
    if (
      options?.deduplicationId !== undefined &&
      !q.admitDeduplicationId(options.deduplicationId, Date.now())
    ) {
      return;
    }
    const stored: StoredMessage = {
      message,
      raw,
      priority: options?.priority ?? message?.properties.priority ?? 0,
      orderingKey: options?.orderingKey,
      deliveryCount: 0,
    };
    const delayMs = options?.delayMs ?? 0;
    if (delayMs > 0) q.delay(stored, Date.now() + delayMs);
    else q.enqueue(stored);
  }

  /** A consumer of this connection: wraps each message it is handed and calls the handler. */
  #consumer(queue: MemoryQueue, handler: DeliveryHandler, window: PrefetchWindow): MemoryConsumer {
    const timeout = this.visibilityTimeoutMs;
    return {
      window,
      hand: (stored: StoredMessage) => {
        let message = stored.message;
        let malformed: MalformedMessageError | null = null;
        if (message === null && stored.raw !== null) {
          try {
            message = decodeKombuEnvelope(stored.raw).message;
          } catch (error) {
            malformed =
              error instanceof MalformedMessageError ? error : new MalformedMessageError(String(error));
          }
        }
        const delivery = new TransportDelivery<MemoryLease>({
          port: this.#port,
          held: this.#held,
          window,
          receipt: {
            stored,
            queue,
            deadline: timeout === null ? Number.POSITIVE_INFINITY : Date.now() + timeout,
          },
          queue: queue.name,
          message,
          malformed,
          raw: stored.raw,
          // Fixed at hand-out: the stored count grows when the message is handed out again.
          deliveryCount: stored.deliveryCount,
          orderingKey: stored.orderingKey,
        });
        handToHandler(handler, delivery, this.#onHandlerError);
      },
    };
  }

  #sweepExpired(): void {
    const now = Date.now();
    for (const delivery of this.#held as Iterable<TransportDelivery<MemoryLease>>) {
      const lease = delivery.receipt;
      if (lease.deadline <= now && delivery.loseLease()) lease.queue.giveBack(lease.stored);
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new TransportClosedError(operation, { transport: this.name });
  }
}

/** The broker primitives a MemoryTransport delivery needs. */
function memoryPort(
  transportName: string,
  capabilities: TransportCapabilities,
  broker: MemoryBroker,
): DeliveryPort<MemoryLease> {
  return {
    transportName,
    capabilities,
    leaseLostReason: 'its visibility timeout ran out',
    settle(lease: MemoryLease, settlement: Settlement): boolean {
      if (settlement.kind === 'requeue' && settlement.delayMs === 0) {
        lease.queue.giveBack(lease.stored);
        return true;
      }
      lease.queue.release();
      if (settlement.kind === 'requeue') lease.queue.delay(lease.stored, Date.now() + settlement.delayMs);
      return true;
    },
    deadLetterQueueOf: (queue) => broker.queue(queue).deadLetterQueue,
    publishDeadLetter(deadLetterQueue: string, letter: WireMessage): Promise<void> {
      broker.queue(deadLetterQueue).enqueue({ message: letter, raw: null, priority: 0, deliveryCount: 0 });
      return Promise.resolve();
    },
    extendVisibility(lease: MemoryLease, ms: number): boolean {
      lease.deadline = Date.now() + ms;
      return true;
    },
  };
}

/** Intersects the full manifest with a restriction; a restriction can never add a claim. */
function narrow(full: CapabilitiesInput, restriction: CapabilitiesInput | undefined): TransportCapabilities {
  const base = defineCapabilities(full);
  if (!restriction) return base;
  const r = restriction;
  const delay =
    r.delay?.mode === 'none' ? { mode: 'none' as const, maxDelayMs: null, precisionMs: 0 } : base.delay;
  return defineCapabilities({
    delay: {
      ...delay,
      maxDelayMs:
        r.delay?.maxDelayMs !== undefined && delay.mode !== 'none'
          ? minNullable(delay.maxDelayMs, r.delay.maxDelayMs)
          : delay.maxDelayMs,
    },
    priorityLevels: Math.min(base.priorityLevels, r.priorityLevels ?? base.priorityLevels),
    ordering: r.ordering === 'none' ? 'none' : base.ordering,
    deadLetter: base.deadLetter && r.deadLetter !== false,
    maxMessageBytes: Math.min(base.maxMessageBytes, r.maxMessageBytes ?? base.maxMessageBytes),
    batchPublish: base.batchPublish && r.batchPublish !== false,
    visibilityExtension: base.visibilityExtension && r.visibilityExtension !== false,
    deduplication: base.deduplication && r.deduplication !== false,
    redelivery: base.redelivery,
  });
}

function minNullable(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
