/**
 * @conveyor/amqp: the RabbitMQ transport for Conveyor (amqplib).
 */
import type { Transport } from '@conveyor/core';
import { AmqpTransport } from './amqp-transport.js';

export { AmqpTransport } from './amqp-transport.js';
export { DELAY_DELIVERY_EXCHANGE, DELAY_LEVELS, delayRoute } from './delay-ladder.js';
export { typedHeaders } from './header-table.js';
export {
  decodeFieldTable,
  type Int64HeaderDecoding,
  int64HeaderDecoding,
} from './int64-header-decoding.js';
export type { AmqpTransportOptions } from './options.js';

/** Opens an AmqpTransport from an `amqp://` or `amqps://` URL. */
export function createTransportFromUrl(url: string): Transport {
  return new AmqpTransport({ url });
}
export { AmqpBroadcast, type AmqpBroadcastPort } from './amqp-broadcast.js';
