import type { WireMessage } from '../message/wire-message.js';

/**
 * How an exchange routes, as AMQP names it. Celery's events use a `topic` exchange (`celeryev`),
 * its remote control a `fanout` one (`celery.pidbox`) and replies a `direct` one
 * (`reply.celery.pidbox`). A broker without exchanges (Redis pub/sub) maps all three onto channel
 * names and matches the binding key itself, as kombu does.
 */
export type ExchangeKind = 'fanout' | 'topic' | 'direct';

/** An exchange that broadcast messages are published to. Declaring it twice is a no-op. */
export interface BroadcastExchange {
  name: string;
  kind: ExchangeKind;
  /** Survives a broker restart (AMQP). Celery declares `celeryev` durable, `celery.pidbox` not. */
  durable?: boolean;
}

/** One broadcast message as a subscriber receives it. */
export interface BroadcastMessage {
  exchange: string;
  routingKey: string;
  message: WireMessage;
}

/** Options of a subscription. */
export interface BroadcastSubscribeOptions {
  /** Aborting ends the subscription (and deletes its private queue where there is one). */
  signal?: AbortSignal;
  /** Told about payloads that cannot be decoded and trouble the transport recovers from. */
  onError?: (error: unknown) => void;
}

/** Called once per message; a throwing handler loses only that message. */
export type BroadcastHandler = (message: BroadcastMessage) => void;

/**
 * Fire-and-forget fan-out, the way Celery's events and remote control travel: a message reaches
 * every subscription that exists when it is published and is stored nowhere else. There is no ack,
 * no redelivery and no dead-lettering; a message nobody listens to is dropped, and a subscriber
 * that is disconnected misses what was published meanwhile (kombu's semantics on Redis PUBLISH and
 * on AMQP's exclusive auto-delete queues). A transport has it when `capabilities.broadcast` is
 * true; Celery has no events on SQS, and kombu's Kafka transport has no fan-out.
 */
export interface Broadcast {
  /** Resolves once the broker took the message (not once anyone received it). */
  publish(exchange: BroadcastExchange, routingKey: string, message: WireMessage): Promise<void>;
  /**
   * Receives the exchange's messages whose routing key matches `bindingKey` (AMQP topic syntax:
   * `#` any words, `*` one word; a fanout exchange ignores it). Resolves once the subscription is
   * registered with the broker: anything published after that reaches it.
   */
  subscribe(
    exchange: BroadcastExchange,
    bindingKey: string,
    handler: BroadcastHandler,
    options?: BroadcastSubscribeOptions,
  ): Promise<void>;
}
