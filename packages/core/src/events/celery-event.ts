import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import type { BroadcastExchange } from '../transport/broadcast.js';

/**
 * Celery's event exchange (`celery.events.event.event_exchange`): a durable topic exchange named
 * `celeryev` (kombu's Redis transport turns it into PUBLISH on `/{db}.celeryev/<routing key>`).
 */
export const CELERY_EVENT_EXCHANGE: BroadcastExchange = Object.freeze({
  name: 'celeryev',
  kind: 'topic',
  durable: true,
});

/** The event types a Conveyor worker or client sends, named as Celery names them. */
export type CeleryEventType =
  | 'worker-online'
  | 'worker-heartbeat'
  | 'worker-offline'
  | 'task-sent'
  | 'task-received'
  | 'task-started'
  | 'task-succeeded'
  | 'task-failed'
  | 'task-retried'
  | 'task-rejected'
  | 'task-revoked';

/** One event as Celery's `Event()` builds it: a flat dict whose only required key is `type`. */
export type CeleryEvent = { type: string } & Record<string, JsonValue>;

/** The routing key of an event: its type with `-` replaced by `.` (`task-received` → `task.received`). */
export function eventRoutingKey(type: string): string {
  return type.replaceAll('-', '.');
}

/**
 * The wire form of an event, as `EventDispatcher._publish` sends it: the JSON dict as body,
 * header `hostname`, transient (delivery_mode 1), `application/json` in utf-8.
 */
export function encodeCeleryEvent(event: CeleryEvent, hostname: string): WireMessage {
  return {
    headers: { hostname },
    properties: { content_type: 'application/json', content_encoding: 'utf-8', delivery_mode: 1 },
    body: Buffer.from(JSON.stringify(event), 'utf8'),
  };
}

/**
 * Hours west of UTC, as `celery.utils.time.utcoffset()` reports them (Python's `time.altzone //
 * 3600` in daylight time, else `time.timezone // 3600`); receivers use it to adjust timestamps.
 */
export function celeryUtcOffset(now: Date = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}
