import { BrokerError } from '@conveyor/core';
import type {
  Broadcast,
  BroadcastExchange,
  BroadcastHandler,
  BroadcastSubscribeOptions,
  WireMessage,
} from '@conveyor/core/transport';
import type { Channel, ChannelModel } from 'amqplib';
import { publishOptionsOf, wireMessageOf } from './wire-mapping.js';

/** What AmqpBroadcast needs from its transport. */
export interface AmqpBroadcastPort {
  /** The live connection of the transport's session (waits while it reconnects). */
  connection(): Promise<ChannelModel>;
  assertOpen(operation: string): void;
  /** Whether the transport is closed: subscriptions stop re-subscribing then. */
  closed(): boolean;
}

/** Celery's event queues: messages older than 5 s are dropped, an unused queue goes after 60 s. */
const SUBSCRIBER_QUEUE_ARGUMENTS = { 'x-message-ttl': 5_000, 'x-expires': 60_000 };
/** A subscription whose channel died waits this long before it binds again. */
const RESUBSCRIBE_DELAY_MS = 1_000;

/**
 * Broadcast on RabbitMQ the way kombu does it: the exchange is declared with its kind (Celery's
 * `celeryev` a durable topic exchange), messages are published to it transient and unconfirmed
 * (Celery's events are), and each subscription is an exclusive, auto-deleted, server-named queue
 * bound with the binding key and consumed without acks. After a lost connection a subscription
 * binds a new queue by itself; what was published meanwhile is missed, as with Celery.
 */
export class AmqpBroadcast implements Broadcast {
  readonly #port: AmqpBroadcastPort;
  #publisher: Promise<Channel> | undefined;
  readonly #declared = new Set<string>();

  constructor(port: AmqpBroadcastPort) {
    this.#port = port;
  }

  async publish(exchange: BroadcastExchange, routingKey: string, message: WireMessage): Promise<void> {
    this.#port.assertOpen('broadcast.publish');
    try {
      const channel = await this.#publishChannel();
      await this.#declare(channel, exchange);
      channel.publish(
        exchange.name,
        routingKey,
        Buffer.from(message.body),
        publishOptionsOf(message, undefined),
      );
    } catch (error) {
      throw new BrokerError(`broadcast to "${exchange.name}" failed: ${messageOf(error)}`, {
        cause: error,
        transport: 'amqp',
      });
    }
  }

  async subscribe(
    exchange: BroadcastExchange,
    bindingKey: string,
    handler: BroadcastHandler,
    options: BroadcastSubscribeOptions = {},
  ): Promise<void> {
    this.#port.assertOpen('broadcast.subscribe');
    const { signal, onError } = options;
    const bind = async (): Promise<void> => {
      const connection = await this.#port.connection();
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      try {
        await channel.assertExchange(exchange.name, exchange.kind, {
          durable: exchange.durable ?? true,
          autoDelete: false,
        });
        const { queue } = await channel.assertQueue('', {
          exclusive: true,
          autoDelete: true,
          durable: false,
          arguments: SUBSCRIBER_QUEUE_ARGUMENTS,
        });
        await channel.bindQueue(queue, exchange.name, bindingKey);
        await channel.consume(
          queue,
          (msg) => {
            if (msg === null) return;
            try {
              handler({
                exchange: msg.fields.exchange,
                routingKey: msg.fields.routingKey,
                message: wireMessageOf(msg, false),
              });
            } catch (error) {
              onError?.(error);
            }
          },
          { noAck: true },
        );
      } catch (error) {
        await channel.close().catch(() => {});
        throw error;
      }
      const stop = (): void => void channel.close().catch(() => {});
      signal?.addEventListener('abort', stop, { once: true });
      channel.once('close', () => {
        signal?.removeEventListener('abort', stop);
        if (signal?.aborted || this.#port.closed()) return;
        onError?.(
          new BrokerError(`subscription to "${exchange.name}" lost; binding again`, { transport: 'amqp' }),
        );
        void this.#rebind(bind, signal, onError);
      });
    };
    try {
      await bind();
    } catch (error) {
      throw new BrokerError(`subscribing to "${exchange.name}" failed: ${messageOf(error)}`, {
        cause: error,
        transport: 'amqp',
      });
    }
  }

  async #rebind(
    bind: () => Promise<void>,
    signal: AbortSignal | undefined,
    onError: ((error: unknown) => void) | undefined,
  ): Promise<void> {
    while (!signal?.aborted && !this.#port.closed()) {
      await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_DELAY_MS));
      try {
        await bind();
        return;
      } catch (error) {
        onError?.(error);
      }
    }
  }

  #publishChannel(): Promise<Channel> {
    this.#publisher ??= (async () => {
      const channel = await (await this.#port.connection()).createChannel();
      channel.on('error', () => {});
      channel.once('close', () => {
        this.#publisher = undefined;
        this.#declared.clear();
      });
      return channel;
    })();
    this.#publisher.catch(() => {
      this.#publisher = undefined;
    });
    return this.#publisher;
  }

  async #declare(channel: Channel, exchange: BroadcastExchange): Promise<void> {
    if (this.#declared.has(exchange.name)) return;
    await channel.assertExchange(exchange.name, exchange.kind, {
      durable: exchange.durable ?? true,
      autoDelete: false,
    });
    this.#declared.add(exchange.name);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
