import type { JsonValue, WireMessage } from '@conveyor/core';
import type { ConsumeMessage, Options } from 'amqplib';
import { typedHeaders } from './header-table.js';

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
 * Whether the broker counts this message's deliveries: quorum queues (`quorum`) add
 * `x-delivery-count` from the first redelivery on; classic queues only flag a redelivery (the
 * consumer then re-publishes it with its count, see AmqpConsumer), and an `x-delivery-count` there
 * was written by a producer: it would forge the count (1000 made a first delivery count 1001), so
 * it is ignored.
 */
export function hasBrokerCount(msg: ConsumeMessage, quorum: boolean): boolean {
  return quorum && brokerCountOf(msg) !== undefined;
}

/**
 * `x-delivery-count` as the broker writes it: a count of 0 or more. A producer can write the
 * header too, with any value (-1 gave a first delivery the count 0, which no count can be); one
 * that is not a count is ignored.
 */
function brokerCountOf(msg: ConsumeMessage): number | undefined {
  const count: unknown = msg.properties.headers?.['x-delivery-count'];
  return Number.isSafeInteger(count) && (count as number) >= 0 ? (count as number) : undefined;
}

/**
 * The broker's delivery count of a received message: quorum queues count in `x-delivery-count`;
 * a classic queue's message handed out is never flagged redelivered (AmqpConsumer re-publishes
 * those), so its own count is 1. What a re-published copy carries is added by TransportDelivery.
 * On a quorum queue a producer's own `x-delivery-count` cannot be told from the broker's: RabbitMQ
 * 3.10 hands it out unchanged until the first redelivery.
 */
export function deliveryCountOf(msg: ConsumeMessage, quorum: boolean): number {
  const counted = quorum ? brokerCountOf(msg) : undefined;
  if (counted !== undefined) return counted + 1;
  return msg.fields.redelivered ? 2 : 1;
}
