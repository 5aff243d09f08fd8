import type { DeliveryHandler } from '@conveyor/core';
import { invokeHandler } from '@conveyor/core/transport';
import type { Channel, ConsumeMessage } from 'amqplib';
import { AckCoalescer } from './ack-coalescer.js';
import { AmqpDelivery } from './amqp-delivery.js';
import type { AmqpTransport } from './amqp-transport.js';
import { deliveryCountOf, wireMessageOf } from './wire-mapping.js';

/**
 * One consumer on its own channel, so that its prefetch (basic.qos) is exact and a channel error
 * stays local. After a reconnect the transport starts it again on a new channel; deliveries of the
 * old channel were requeued by the broker and can no longer be settled.
 */
export class AmqpConsumer {
  readonly queue: string;
  readonly transport: AmqpTransport;
  /** Increases with every channel; deliveries remember the one they came on. */
  generation = 0;
  stopped = false;
  #channel: Channel | undefined;
  #acks: AckCoalescer | undefined;
  #consumerTag: string | undefined;
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  readonly #onError: (error: unknown) => void;

  constructor(
    transport: AmqpTransport,
    queue: string,
    handler: DeliveryHandler,
    prefetch: number,
    onError: (error: unknown) => void,
  ) {
    this.transport = transport;
    this.queue = queue;
    this.#handler = handler;
    this.#prefetch = prefetch;
    this.#onError = onError;
  }

  /** Opens a channel and starts consuming (again after a reconnect). */
  async start(channel: Channel): Promise<void> {
    this.generation += 1;
    const generation = this.generation;
    this.#channel = channel;
    const acks = new AckCoalescer(channel);
    this.#acks = acks;
    channel.on('error', (error: unknown) => this.#onError(error));
    channel.on('close', () => {
      if (this.generation === generation) {
        this.#channel = undefined;
        this.#acks = undefined;
      }
      // A channel the broker closed (consumer_timeout, 406) while the connection lives: reopen it.
      if (!this.stopped && this.generation === generation) this.transport.restartConsumer(this);
    });
    await channel.prefetch(this.#prefetch, false);
    const { consumerTag } = await channel.consume(
      this.queue,
      (msg) => {
        if (msg === null) return; // cancelled by the broker (queue deleted)
        acks.delivered(msg);
        this.#deliver(msg, generation);
      },
      { noAck: false },
    );
    this.#consumerTag = consumerTag;
  }

  /** basic.cancel: no new deliveries; held ones stay settleable on the open channel. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.#channel && this.#consumerTag) await this.#channel.cancel(this.#consumerTag).catch(() => {});
  }

  /** Closes the channel: the broker requeues whatever is unacked on it. */
  async close(): Promise<void> {
    this.stopped = true;
    const channel = this.#channel;
    // Acks of this turn go out before the close, or the broker would requeue finished work.
    this.#acks?.flush();
    this.#channel = undefined;
    this.#acks = undefined;
    this.generation += 1;
    if (channel) await channel.close().catch(() => {});
  }

  settle(msg: ConsumeMessage, how: 'ack' | 'requeue'): void {
    const acks = this.#acks;
    if (!acks) return;
    if (how === 'ack') acks.ack(msg);
    else acks.requeue(msg);
  }

  #deliver(msg: ConsumeMessage, generation: number): void {
    const message = wireMessageOf(msg, this.transport.capabilities.priorityLevels > 0);
    const delivery = new AmqpDelivery(this, msg, message, deliveryCountOf(msg), generation);
    this.transport.track(delivery);
    invokeHandler(this.#handler, delivery, () => delivery.state !== 'open', this.#onError);
  }
}
