import type { JsonValue, WireMessage } from '@conveyor/core';
import type { ConsumeMessage, Options } from 'amqplib';

/**
 * Header values as amqplib must write them for py-amqp: every integer as a signed 32-bit `I`
 * (amqplib would pick `b` or `s`, which py-amqp reads as unsigned or as a string: 300 becomes ',')
 * and integers beyond 32 bits as doubles.
 */
export function typedHeaders(headers: Record<string, JsonValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in headers) out[key] = typed(headers[key] as JsonValue);
  return out;
}

function typed(value: JsonValue): unknown {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      return value >= -0x8000_0000 && value <= 0x7fff_ffff ? { '!': 'int', value } : { '!': 'double', value };
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(typed);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key in value) out[key] = typed(value[key] as JsonValue);
    return out;
  }
  return value;
}

/** amqplib publish options for a message: properties native, persistent, priority as given. */
export function publishOptionsOf(
  message: WireMessage,
  priority: number | undefined,
  extraHeaders?: Record<string, JsonValue>,
): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = {
    persistent: p.delivery_mode !== 1,
    contentType: p.content_type,
    contentEncoding: p.content_encoding,
    headers: typedHeaders(extraHeaders ? { ...message.headers, ...extraHeaders } : message.headers),
  };
  if (p.correlation_id !== undefined) options.correlationId = p.correlation_id;
  if (p.reply_to) options.replyTo = p.reply_to;
  if (priority !== undefined) options.priority = priority;
  return options;
}

/** The WireMessage of a received AMQP message (headers and properties come natively). */
export function wireMessageOf(msg: ConsumeMessage, withPriorities: boolean): WireMessage {
  const props = msg.properties;
  const headers = { ...(props.headers ?? {}) } as Record<string, JsonValue>;
  delete headers['x-delivery-count'];
  const message: WireMessage = {
    headers,
    properties: {
      content_type: props.contentType ?? 'application/json',
      content_encoding: props.contentEncoding ?? 'utf-8',
      delivery_mode: props.deliveryMode === 1 ? 1 : 2,
    },
    body: msg.content,
  };
  if (props.correlationId !== undefined) message.properties.correlation_id = String(props.correlationId);
  if (props.replyTo !== undefined) message.properties.reply_to = String(props.replyTo);
  if (withPriorities && typeof props.priority === 'number') message.properties.priority = props.priority;
  return message;
}

/**
 * The broker's delivery count of a received message: quorum queues count in `x-delivery-count`;
 * classic queues only flag redeliveries, so a redelivery counts as 2 (a lower bound). What a copy
 * re-published by a delayed nack carries is added by TransportDelivery.
 */
export function deliveryCountOf(msg: ConsumeMessage): number {
  const quorum = msg.properties.headers?.['x-delivery-count'];
  if (typeof quorum === 'number') return quorum + 1;
  return msg.fields.redelivered ? 2 : 1;
}
