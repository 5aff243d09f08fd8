import { isUtf8 } from 'node:buffer';
import { MalformedMessageError } from '../errors/message-errors.js';
import type { JsonValue } from './json-value.js';
import type { WireMessage, WireProperties } from './wire-message.js';

/** Where kombu says a message was routed: required by Python consumers on virtual transports. */
export interface DeliveryInfo {
  exchange: string;
  routing_key: string;
}

/**
 * kombu's virtual-transport envelope (Redis, SQS, Kafka): one JSON document with hyphenated
 * top-level keys and the body base64-encoded once. `priority` is written as given: transports
 * convert core's level to the broker's scheme before they call this.
 */
export function encodeKombuEnvelope(
  message: WireMessage,
  deliveryInfo: DeliveryInfo,
  deliveryTag: string,
  brokerPriority = 0,
): string {
  const { properties: p } = message;
  const properties: Record<string, JsonValue> = {
    correlation_id: p.correlation_id ?? null,
    reply_to: p.reply_to ?? null,
    delivery_mode: p.delivery_mode ?? 2,
    delivery_info: { exchange: deliveryInfo.exchange, routing_key: deliveryInfo.routing_key },
    priority: brokerPriority,
    body_encoding: 'base64',
    delivery_tag: deliveryTag,
  };
  return JSON.stringify({
    body: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString(
      'base64',
    ),
    'content-encoding': p.content_encoding,
    'content-type': p.content_type,
    headers: message.headers,
    properties,
  });
}

/** A decoded envelope: the message plus the kombu bookkeeping fields a transport may need. */
export interface DecodedKombuEnvelope {
  message: WireMessage;
  deliveryTag: string | undefined;
  deliveryInfo: DeliveryInfo | undefined;
  /** The broker's raw priority value, for the transport to map back to a core level. */
  brokerPriority: number | undefined;
}

/**
 * The deepest nesting of headers a decoded envelope may have. JSON.parse reads thousands of levels
 * that JSON.stringify then cannot write back (RangeError: the call stack), so such a message could
 * be neither retried nor dead-lettered and went round for ever. Celery's headers nest two or three
 * levels; deeper ones make the payload malformed, and it is dead-lettered as its raw bytes.
 */
const MAX_HEADER_DEPTH = 100;

/** Whether `value` has objects or arrays nested more than `levels` deep (it stops looking there). */
function nestedDeeperThan(value: object, levels: number): boolean {
  if (levels === 0) return true;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null && nestedDeeperThan(item, levels - 1)) return true;
  }
  return false;
}

/**
 * Parses a kombu envelope; anything that is not one throws MalformedMessageError with the reason.
 * Bytes must be UTF-8 (JSON on the wire is, and kombu decodes it strictly): bytes that are not would
 * read as U+FFFD, and a message decoded from them would be re-published (retried, dead-lettered)
 * changed, where a malformed payload is dead-lettered byte for byte.
 */
export function decodeKombuEnvelope(raw: string | Uint8Array): DecodedKombuEnvelope {
  let doc: unknown;
  if (typeof raw !== 'string' && !isUtf8(raw)) {
    throw new MalformedMessageError('envelope is not JSON: its bytes are not UTF-8');
  }
  try {
    // A view over the same bytes, not a copy (Buffer.from(Uint8Array) copies).
    const text =
      typeof raw === 'string'
        ? raw
        : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    doc = JSON.parse(text);
  } catch (error) {
    throw new MalformedMessageError(`envelope is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new MalformedMessageError('envelope must be a JSON object');
  }
  const env = doc as Record<string, unknown>;
  if (typeof env.body !== 'string') throw new MalformedMessageError('envelope has no string "body"');
  const props = (env.properties ?? {}) as Record<string, unknown>;
  if (typeof props !== 'object' || Array.isArray(props)) {
    throw new MalformedMessageError('envelope "properties" must be an object');
  }
  const headers = env.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new MalformedMessageError('envelope "headers" must be an object');
  }
  if (nestedDeeperThan(headers, MAX_HEADER_DEPTH)) {
    throw new MalformedMessageError(`envelope "headers" are nested deeper than ${MAX_HEADER_DEPTH} levels`);
  }
  const bodyEncoding = props.body_encoding;
  // A Buffer is a Uint8Array: no second copy of the body.
  const body = bodyEncoding === 'base64' ? Buffer.from(env.body, 'base64') : Buffer.from(env.body, 'utf8');
  const properties: WireProperties = {
    content_type: typeof env['content-type'] === 'string' ? env['content-type'] : 'application/json',
    content_encoding: typeof env['content-encoding'] === 'string' ? env['content-encoding'] : 'utf-8',
  };
  if (typeof props.correlation_id === 'string') properties.correlation_id = props.correlation_id;
  if (typeof props.reply_to === 'string') properties.reply_to = props.reply_to;
  if (props.delivery_mode === 1 || props.delivery_mode === 2) properties.delivery_mode = props.delivery_mode;
  const info = props.delivery_info as Record<string, unknown> | undefined;
  return {
    message: { headers: headers as Record<string, JsonValue>, properties, body },
    deliveryTag: typeof props.delivery_tag === 'string' ? props.delivery_tag : undefined,
    deliveryInfo:
      info && typeof info.routing_key === 'string'
        ? { exchange: typeof info.exchange === 'string' ? info.exchange : '', routing_key: info.routing_key }
        : undefined,
    brokerPriority: typeof props.priority === 'number' ? props.priority : undefined,
  };
}
