import type { JsonValue } from './json-value.js';

/**
 * Message properties, named as Celery/AMQP name them so the mapping to every broker is 1:1.
 * `priority` here is the broker-neutral level (0..capabilities.priorityLevels-1, higher first);
 * a transport translates it into its broker's own scheme (kombu's Redis buckets run the other way).
 */
export interface WireProperties {
  /** Celery sets it to the task id; rpc-style result backends route by it. */
  correlation_id?: string;
  /** Queue that expects a reply; Python clients always set it. */
  reply_to?: string;
  /** MIME type of `body`, exactly (no `; charset=`). */
  content_type: string;
  /** `utf-8` for text codecs, `binary` for raw bytes. */
  content_encoding: string;
  /** 2 = persistent (the default for tasks), 1 = transient. */
  delivery_mode?: 1 | 2;
  /** Broker-neutral priority level, higher runs first. */
  priority?: number;
}

/**
 * What a transport carries: Celery's three layers (headers, properties, body bytes). The
 * transport never looks inside `body`; it maps headers and properties onto its broker.
 */
export interface WireMessage {
  headers: Record<string, JsonValue>;
  properties: WireProperties;
  body: Uint8Array;
}
