import { LeaseLostError } from '../errors/delivery-errors.js';
import { MalformedMessageError } from '../errors/message-errors.js';
import {
  InvalidOptionError,
  TransportClosedError,
  UnsupportedFeatureError,
} from '../errors/transport-errors.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  CARRIED_DELIVERY_COUNT_HEADER,
  type Delivery,
  MAX_VISIBILITY_EXTENSION_MS,
  type NackOptions,
} from '../transport/delivery.js';
import { checkDelay } from '../transport/publish-checks.js';
import { deadLetterMessage } from './dead-letter-message.js';
import type { DeliveryPort, Settlement } from './delivery-port.js';
import type { HeldDeliveries } from './held-deliveries.js';
import type { PrefetchWindow } from './prefetch-window.js';

/**
 * Where a delivery is in its life. `open` is the only state in which it reaches the broker:
 * - `settling`: a settle is on its way (a second call is a no-op);
 * - `settled`: acked, nacked or dead-lettered;
 * - `lease-lost`: the broker stopped holding it for this consumer (visibility timeout, channel or
 *   partition lost); settling reports LeaseLostError;
 * - `closed`: its transport was closed while it was open and gave it back; settling reports
 *   TransportClosedError.
 */
export type DeliveryState = 'open' | 'settling' | 'settled' | 'lease-lost' | 'closed';

/** What a transport knows about a message it hands out. */
export interface TransportDeliveryInit<Receipt> {
  /** The transport's broker primitives. */
  port: DeliveryPort<Receipt>;
  /** The transport's registry: the delivery joins it now and leaves it once settled. */
  held: HeldDeliveries;
  /** The prefetch window of the consumer it is handed to. */
  window: PrefetchWindow;
  /** Whatever identifies the message to the broker (a receipt handle, a delivery tag, an offset). */
  receipt: Receipt;
  /** The queue it was consumed from. */
  queue: string;
  /** The decoded message, or null when the payload could not be decoded (then `malformed` says why). */
  message: WireMessage | null;
  malformed?: MalformedMessageError | null;
  /** The payload as the broker held it, for dead-lettering an undecodable one unchanged. */
  raw?: Uint8Array | (() => Uint8Array) | null;
  /**
   * The broker's count: 1 on first delivery, more after each redelivery (see
   * Delivery.deliveryCount). The delivery adds what a re-published copy carries in
   * CARRIED_DELIVERY_COUNT_HEADER.
   */
  deliveryCount: number;
  /** The ordering key it was published with, where the broker keeps one. */
  orderingKey?: string | undefined;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The one implementation of `Delivery` that every transport uses. It is the delivery state
 * machine of the contract, decided in one place: settled once (later calls are no-ops), settling
 * after close is TransportClosedError, after the lease is gone LeaseLostError; the dead letter is
 * built and stored before the original is removed; options are checked against the capabilities.
 * The transport supplies only the broker primitives, through its DeliveryPort.
 */
export class TransportDelivery<Receipt = unknown> implements Delivery {
  readonly queue: string;
  readonly message: WireMessage | null;
  readonly malformed: MalformedMessageError | null;
  readonly deliveryCount: number;
  readonly orderingKey: string | undefined;
  /** What identifies the message to the broker. For the transport only. */
  readonly receipt: Receipt;
  /** The consumer's prefetch window. For HeldDeliveries only. */
  readonly window: PrefetchWindow;
  #state: DeliveryState = 'open';
  readonly #port: DeliveryPort<Receipt>;
  readonly #held: HeldDeliveries;
  readonly #raw: Uint8Array | (() => Uint8Array) | null;

  constructor(init: TransportDeliveryInit<Receipt>) {
    this.#port = init.port;
    this.#held = init.held;
    this.window = init.window;
    this.receipt = init.receipt;
    this.queue = init.queue;
    const carried = carriedDeliveries(init.message);
    this.message =
      init.message && CARRIED_DELIVERY_COUNT_HEADER in init.message.headers
        ? withoutCarriedCount(init.message)
        : init.message;
    this.malformed = init.malformed ?? oversize(init.message, init.port) ?? null;
    this.#raw = init.raw ?? null;
    this.deliveryCount = init.deliveryCount + carried;
    this.orderingKey = init.orderingKey;
    init.held.add(this);
  }

  /** Where it is in its life (see DeliveryState). */
  get state(): DeliveryState {
    return this.#state;
  }

  /** True until a settle starts, the lease is lost or the transport closes. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  rawPayload(): Uint8Array | null {
    return typeof this.#raw === 'function' ? this.#raw() : this.#raw;
  }

  ack(): Promise<void> {
    return this.#settle('ack', ACK);
  }

  nack(options?: NackOptions): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    if (delayMs !== 0 && this.#state === 'open') {
      try {
        checkDelay(this.#port.transportName, this.#port.capabilities, delayMs, 'delayMs');
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#settle('nack', delayMs > 0 ? { kind: 'requeue', delayMs } : REQUEUE);
  }

  reject(reason: string): Promise<void> {
    if (this.#state !== 'open') return this.#late('reject');
    const port = this.#port;
    if (!port.capabilities.deadLetter) {
      return Promise.reject(
        new UnsupportedFeatureError('deadLetter', 'reject() was called', { transport: port.transportName }),
      );
    }
    const deadLetterQueue = port.deadLetterQueueOf(this.queue);
    if (deadLetterQueue === null) {
      return Promise.reject(
        new UnsupportedFeatureError(
          'deadLetter',
          `queue "${this.queue}" was declared without a dead-letter queue`,
          { transport: port.transportName },
        ),
      );
    }
    if (port.holds && !port.holds(this.receipt)) return this.#loseAndReport('reject');
    this.#begin();
    const letter = deadLetterMessage({
      queue: this.queue,
      reason,
      message: this.message,
      raw: () => this.rawPayload(),
      maxBytes: port.capabilities.maxMessageBytes,
    });
    // The letter is stored before the original leaves: a crash in between duplicates, never loses.
    return port.publishDeadLetter(deadLetterQueue, letter).then(
      () => this.#apply('reject', DEAD_LETTERED),
      (error: unknown) => {
        this.#reopen();
        throw error;
      },
    );
  }

  extendVisibility(ms: number): Promise<void> {
    const port = this.#port;
    if (!port.capabilities.visibilityExtension || !port.extendVisibility) {
      return Promise.reject(
        new UnsupportedFeatureError('visibilityExtension', 'extendVisibility() was called', {
          transport: port.transportName,
        }),
      );
    }
    if (!(Number.isFinite(ms) && ms >= 1 && ms <= MAX_VISIBILITY_EXTENSION_MS)) {
      return Promise.reject(
        new InvalidOptionError(
          'ms',
          `extendVisibility takes 1..${MAX_VISIBILITY_EXTENSION_MS} ms (12 hours), got ${ms}`,
          { transport: port.transportName },
        ),
      );
    }
    if (this.#state !== 'open') return this.#late('extendVisibility');
    if (port.holds && !port.holds(this.receipt)) return this.#loseAndReport('extendVisibility');
    let held: boolean | Promise<boolean>;
    try {
      held = port.extendVisibility(this.receipt, ms);
    } catch (error) {
      return Promise.reject(error);
    }
    if (held === true) return RESOLVED;
    if (held === false) return this.#loseAndReport('extendVisibility');
    return held.then((stillHeld) => {
      if (!stillHeld && this.#state === 'open') {
        this.#lose();
        throw this.#leaseLost('extendVisibility');
      }
    });
  }

  /**
   * For the transport: the broker stopped holding this message for this consumer (the visibility
   * timeout ran out, the channel closed). An open delivery becomes `lease-lost` and leaves the
   * registry; returns false when it was not open.
   */
  loseLease(): boolean {
    if (this.#state !== 'open') return false;
    this.#lose();
    return true;
  }

  /** For HeldDeliveries.closeAll only: the transport closed while this delivery was open. */
  markClosed(): void {
    if (this.#state === 'open') this.#state = 'closed';
  }

  #settle(operation: string, settlement: Settlement): Promise<void> {
    if (this.#state !== 'open') return this.#late(operation);
    if (this.#port.holds && !this.#port.holds(this.receipt)) return this.#loseAndReport(operation);
    this.#begin();
    return this.#apply(operation, settlement);
  }

  /** Claims the delivery: later calls are no-ops, and its prefetch slot is free at once. */
  #begin(): void {
    this.#state = 'settling';
    this.#held.release(this);
  }

  #apply(operation: string, settlement: Settlement): Promise<void> {
    let applied: boolean | Promise<boolean>;
    // A transport that gives a message back by re-publishing a copy (a delayed nack on AMQP) gets
    // the copy ready-stamped with the count so far, so no transport writes the header itself.
    const message =
      settlement.kind === 'requeue' && this.message
        ? withCarriedCount(this.message, this.deliveryCount)
        : this.message;
    try {
      applied = this.#port.settle(this.receipt, settlement, message);
    } catch (error) {
      this.#reopen();
      return Promise.reject(error);
    }
    if (applied === true) {
      this.#state = 'settled';
      return RESOLVED;
    }
    if (applied === false) return this.#lostWhileSettling(operation);
    return applied.then(
      (ok) => {
        if (!ok) return this.#lostWhileSettling(operation);
        if (this.#state === 'settling') this.#state = 'settled';
        return undefined;
      },
      (error: unknown) => {
        this.#reopen();
        throw error;
      },
    );
  }

  /** A settle failed before the broker applied it: the delivery can be settled again. */
  #reopen(): void {
    if (this.#state !== 'settling') return;
    if (this.#held.closed) {
      // The transport closed meanwhile; the broker gives the message back on its own.
      this.#state = 'closed';
      return;
    }
    this.#state = 'open';
    this.#held.add(this);
  }

  #lostWhileSettling(operation: string): Promise<void> {
    this.#state = 'lease-lost';
    return Promise.reject(this.#leaseLost(operation));
  }

  #lose(): void {
    this.#state = 'lease-lost';
    this.#held.release(this);
  }

  #loseAndReport(operation: string): Promise<void> {
    if (this.#state === 'open') this.#lose();
    return Promise.reject(this.#leaseLost(operation));
  }

  #late(operation: string): Promise<void> {
    if (this.#state === 'closed') {
      return Promise.reject(
        new TransportClosedError(`${operation} of a delivery`, { transport: this.#port.transportName }),
      );
    }
    if (this.#state === 'lease-lost') return Promise.reject(this.#leaseLost(operation));
    return RESOLVED;
  }

  #leaseLost(operation: string): LeaseLostError {
    return new LeaseLostError(operation, this.#port.leaseLostReason, { transport: this.#port.transportName });
  }
}

/** Deliveries a re-published copy says it had before it (0 when it is not such a copy). */
function carriedDeliveries(message: WireMessage | null): number {
  const value = message?.headers[CARRIED_DELIVERY_COUNT_HEADER];
  const count = typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}

function withoutCarriedCount(message: WireMessage): WireMessage {
  const { [CARRIED_DELIVERY_COUNT_HEADER]: _carried, ...headers } = message.headers;
  return { ...message, headers };
}

/**
 * `message` as a copy that keeps the count: re-delivered, it reports `deliveryCount` + its own
 * broker count. Core's Worker and transports that re-publish to give a message back use it.
 */
export function withCarriedCount(message: WireMessage, deliveryCount: number): WireMessage {
  return { ...message, headers: { ...message.headers, [CARRIED_DELIVERY_COUNT_HEADER]: deliveryCount } };
}

/**
 * A payload above the transport's own limit (another producer ignored it) is refused like any
 * other malformed message: it is dead-lettered rather than handed to a task.
 */
function oversize<Receipt>(
  message: WireMessage | null,
  port: DeliveryPort<Receipt>,
): MalformedMessageError | null {
  const limit = port.capabilities.maxMessageBytes;
  if (!message || message.body.byteLength <= limit) return null;
  return new MalformedMessageError(
    `body of ${message.body.byteLength} bytes is above this transport's limit of ${limit} bytes (capabilities.maxMessageBytes)`,
  );
}

const ACK: Settlement = Object.freeze({ kind: 'ack' });
const REQUEUE: Settlement = Object.freeze({ kind: 'requeue', delayMs: 0 });
const DEAD_LETTERED: Settlement = Object.freeze({ kind: 'dead-lettered' });
