import type { JsonValue } from '../message/json-value.js';
import type { Broadcast, BroadcastExchange } from '../transport/broadcast.js';
import {
  CELERY_EVENT_EXCHANGE,
  type CeleryEvent,
  type CeleryEventType,
  celeryUtcOffset,
  encodeCeleryEvent,
  eventRoutingKey,
} from './celery-event.js';

/** Options of CeleryEventDispatcher. */
export interface CeleryEventDispatcherOptions {
  /** Where events go: a transport's `broadcast`. */
  broadcast: Broadcast;
  /** The `hostname` field and header, e.g. `conveyor@host` (Celery's node name). */
  hostname: string;
  /** Default Celery's `celeryev` topic exchange (`event_exchange`). */
  exchange?: BroadcastExchange;
  /** Told when an event cannot be published; events are best effort and never throw. */
  onError?: (error: unknown) => void;
}

/**
 * Sends Celery events (`celery.events.EventDispatcher`): each one gets `hostname`, `utcoffset`,
 * `pid`, a Lamport `clock` and a `timestamp` in epoch seconds, and is published with routing key
 * `<group>.<name>`. Like Celery's, a failed publish loses the event rather than the task: it is
 * reported to `onError` and `send` still resolves.
 */
export class CeleryEventDispatcher {
  readonly hostname: string;
  readonly #broadcast: Broadcast;
  readonly #exchange: BroadcastExchange;
  readonly #onError: ((error: unknown) => void) | undefined;
  #clock = 0;

  constructor(options: CeleryEventDispatcherOptions) {
    this.#broadcast = options.broadcast;
    this.hostname = options.hostname;
    this.#exchange = options.exchange ?? CELERY_EVENT_EXCHANGE;
    this.#onError = options.onError;
  }

  /** The event as it would be sent now; `send` publishes it. */
  prepare(type: CeleryEventType | string, fields: Record<string, JsonValue> = {}): CeleryEvent {
    this.#clock += 1;
    return {
      hostname: this.hostname,
      utcoffset: celeryUtcOffset(),
      pid: process.pid,
      clock: this.#clock,
      ...fields,
      timestamp: Date.now() / 1000,
      type,
    };
  }

  /** Publishes one event; resolves (never rejects) once the broker took it or refused it. */
  async send(type: CeleryEventType | string, fields: Record<string, JsonValue> = {}): Promise<void> {
    const event = this.prepare(type, fields);
    try {
      await this.#broadcast.publish(
        this.#exchange,
        eventRoutingKey(type),
        encodeCeleryEvent(event, this.hostname),
      );
    } catch (error) {
      this.#onError?.(error);
    }
  }
}
