import { randomUUID } from 'node:crypto';
import { BrokerError, TransportClosedError } from '@conveyor/core';
import {
  type Broadcast,
  type BroadcastExchange,
  type BroadcastHandler,
  type BroadcastSubscribeOptions,
  decodeKombuEnvelope,
  encodeKombuEnvelope,
  onAbort,
  type WireMessage,
} from '@conveyor/core/transport';
import { openConnection, type RedisConnection } from './connection.js';
import type { ResolvedRedisOptions } from './options.js';

/** What RedisBroadcast needs from its transport. */
export interface RedisBroadcastPort {
  readonly options: ResolvedRedisOptions;
  /** The connected command connection (connects first). */
  command(): Promise<RedisConnection>;
  assertOpen(operation: string): void;
}

/**
 * kombu's fanout on Redis (`Channel._put_fanout`, `fanout_prefix` and `fanout_patterns` on, their
 * defaults): PUBLISH of the kombu envelope on `<keyPrefix>/<db>.<exchange>/<routing key>`, and
 * PSUBSCRIBE with the binding key's `#` turned into `*` (`_queue_bind`). Celery's event receiver
 * subscribes to `/0.celeryev/*`, so it hears what this publishes and the other way round. Nothing is
 * stored: a message reaches the subscribers connected at that moment, as in kombu.
 */
export class RedisBroadcast implements Broadcast {
  readonly #port: RedisBroadcastPort;
  #subscriber: Promise<RedisConnection> | undefined;
  readonly #handlers = new Map<string, Set<{ handler: BroadcastHandler; onError?: (e: unknown) => void }>>();
  #closed = false;

  constructor(port: RedisBroadcastPort) {
    this.#port = port;
  }

  /** The PUB/SUB channel of an exchange and routing key, as kombu's `_get_publish_topic` names it. */
  channel(exchange: string, routingKey: string): string {
    const { keyPrefix, db } = this.#port.options;
    const base = `${keyPrefix}/${db ?? 0}.${exchange}`;
    return routingKey ? `${base}/${routingKey}` : base;
  }

  async publish(exchange: BroadcastExchange, routingKey: string, message: WireMessage): Promise<void> {
    this.#port.assertOpen('broadcast.publish');
    const command = await this.#port.command();
    const payload = encodeKombuEnvelope(
      message,
      { exchange: exchange.name, routing_key: routingKey },
      randomUUID(),
    );
    try {
      if (exchange.kind === 'direct') await this.#deliverDirect(command, exchange.name, routingKey, payload);
      else await command.publish(this.channel(exchange.name, routingKey), payload);
    } catch (error) {
      throw new BrokerError(`broadcast to "${exchange.name}" failed: ${messageOf(error)}`, {
        cause: error,
        transport: 'redis',
      });
    }
  }

  /**
   * kombu's direct exchange on Redis (`DirectExchange.deliver`), which pidbox replies use: the
   * exchange's bindings are the set `_kombu.binding.<exchange>` of `routing key\x06\x16pattern
   * \x06\x16queue` entries that the caller's `queue_bind` wrote, and the message is LPUSHed onto
   * each queue bound with this routing key (priority 0, so the plain list). Nobody bound: dropped,
   * as kombu drops a reply whose caller is gone.
   */
  async #deliverDirect(
    command: RedisConnection,
    exchange: string,
    routingKey: string,
    payload: string | Buffer,
  ): Promise<void> {
    const { keyPrefix } = this.#port.options;
    const bindings = await command.smembers(`${keyPrefix}${KOMBU_BINDING_PREFIX}${exchange}`);
    const queues = new Set<string>();
    for (const binding of bindings) {
      const [key, , queue] = binding.split(KOMBU_BINDING_SEPARATOR);
      if (key === routingKey && queue) queues.add(queue);
    }
    for (const queue of queues) await command.lpush(`${keyPrefix}${queue}`, payload);
  }

  async subscribe(
    exchange: BroadcastExchange,
    bindingKey: string,
    handler: BroadcastHandler,
    options: BroadcastSubscribeOptions = {},
  ): Promise<void> {
    this.#port.assertOpen('broadcast.subscribe');
    const pattern = this.channel(exchange.name, bindingKey.replaceAll('#', '*'));
    const entry = { handler, onError: options.onError };
    let set = this.#handlers.get(pattern);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.#handlers.set(pattern, set);
    }
    set.add(entry);
    try {
      const subscriber = await this.#connectSubscriber();
      if (first) await subscriber.psubscribe(pattern);
    } catch (error) {
      set.delete(entry);
      throw new BrokerError(`subscribing to "${exchange.name}" failed: ${messageOf(error)}`, {
        cause: error,
        transport: 'redis',
      });
    }
    if (options.signal) {
      onAbort(options.signal, () => {
        set.delete(entry);
        if (set.size === 0 && this.#handlers.get(pattern) === set) {
          this.#handlers.delete(pattern);
          void this.#subscriber?.then((s) => s.punsubscribe(pattern)).catch(() => {});
        }
      });
    }
  }

  /** Ends every subscription; the transport calls it from `close`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#handlers.clear();
    const subscriber = await this.#subscriber?.catch(() => undefined);
    if (!subscriber) return;
    try {
      await subscriber.quit();
    } catch {
      subscriber.disconnect();
    }
  }

  #connectSubscriber(): Promise<RedisConnection> {
    if (this.#closed) return Promise.reject(new TransportClosedError('broadcast.subscribe'));
    this.#subscriber ??= (async () => {
      const subscriber = openConnection(this.#port.options, 'broadcast');
      subscriber.on('error', () => {}); // ioredis reconnects and re-subscribes by itself
      subscriber.on('pmessageBuffer', (pattern: Buffer, channel: Buffer, data: Buffer) =>
        this.#deliver(pattern.toString('utf8'), channel.toString('utf8'), data),
      );
      await subscriber.connect();
      return subscriber;
    })();
    this.#subscriber.catch(() => {
      this.#subscriber = undefined;
    });
    return this.#subscriber;
  }

  #deliver(pattern: string, channel: string, data: Buffer): void {
    const set = this.#handlers.get(pattern);
    if (!set) return;
    // `<prefix>/<db>.<exchange>/<routing key>`: kombu drops everything up to the first '.'.
    const rest = channel.slice(this.#port.options.keyPrefix.length);
    const afterDb = rest.startsWith('/') ? rest.slice(rest.indexOf('.') + 1) : rest;
    const slash = afterDb.indexOf('/');
    const exchange = slash === -1 ? afterDb : afterDb.slice(0, slash);
    const routingKey = slash === -1 ? '' : afterDb.slice(slash + 1);
    for (const { handler, onError } of set) {
      try {
        const { message } = decodeKombuEnvelope(data);
        handler({ exchange, routingKey, message });
      } catch (error) {
        onError?.(error);
      }
    }
  }
}

/** kombu's `keyprefix_queue` and `sep` of the Redis transport. */
const KOMBU_BINDING_PREFIX = '_kombu.binding.';
const KOMBU_BINDING_SEPARATOR = '\x06\x16';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
