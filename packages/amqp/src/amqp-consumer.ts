import {
  CARRIED_DELIVERY_COUNT_HEADER,
  type DeliveryHandler,
  type DeliveryPort,
  type HeldDeliveries,
  handToHandler,
  PrefetchWindow,
  TransportDelivery,
  type WireMessage,
  withCarriedCount,
} from '@conveyor/core/transport';
import type { Channel, ConsumeMessage } from 'amqplib';
import { AckCoalescer } from './ack-coalescer.js';
import { UnwritableHeaderError } from './header-table.js';
import type { UncopiedCounts } from './uncopied-counts.js';
import { deliveryCountOf, hasBrokerCount, wireMessageOf } from './wire-mapping.js';

/** What identifies a delivery to RabbitMQ: its message (delivery tag) on one channel generation. */
export interface AmqpReceipt {
  readonly msg: ConsumeMessage;
  /** Generation of the consumer channel it came on: after a reconnect, old deliveries are void. */
  readonly generation: number;
}

/** What a consumer needs from its transport, and nothing more. */
export interface AmqpConsumerLink {
  readonly queue: string;
  readonly transportName: string;
  readonly capabilities: DeliveryPort<AmqpReceipt>['capabilities'];
  /** The queue is a quorum queue, whose broker counts deliveries in `x-delivery-count`. */
  readonly quorum: boolean;
  readonly held: HeldDeliveries;
  /** Counts of redeliveries whose count-carrying copy could not be published (see #recount). */
  readonly uncopied: UncopiedCounts;
  /** Publishes through the transport's confirm channel (delayed copies). */
  publish(queue: string, message: WireMessage, delayMs?: number): Promise<void>;
  /**
   * Publishes a dead letter (confirmed); headers that cannot be written back are kept as text or
   * left out, and the reason says which, so that the message can always leave its queue.
   */
  publishDeadLetter(queue: string, letter: WireMessage): Promise<void>;
  /**
   * Publishes a copy of `msg` to `queue` (confirmed) with its own properties and body and these
   * headers: a redelivered message re-published with its delivery count.
   */
  republish(queue: string, msg: ConsumeMessage, headers: WireMessage['headers']): Promise<void>;
  deadLetterQueueOf(queue: string): string | null;
  /** The broker closed this consumer's channel while the connection lives: open a new one. */
  restart(consumer: AmqpConsumer): void;
}

/**
 * One consumer on its own channel, so that its prefetch (basic.qos) is exact and a channel error
 * stays local. After a reconnect the transport starts it again on a new channel; deliveries of the
 * old channel were requeued by the broker and can no longer be settled (LeaseLostError).
 */
export class AmqpConsumer {
  /** Increases with every channel; deliveries remember the one they came on. */
  generation = 0;
  stopped = false;
  #channel: Channel | undefined;
  #acks: AckCoalescer | undefined;
  #consumerTag: string | undefined;
  readonly #link: AmqpConsumerLink;
  readonly #port: DeliveryPort<AmqpReceipt>;
  readonly #window: PrefetchWindow;
  readonly #handler: DeliveryHandler;
  readonly #onError: (error: unknown) => void;

  constructor(
    link: AmqpConsumerLink,
    handler: DeliveryHandler,
    prefetch: number,
    onError: (error: unknown) => void,
  ) {
    this.#link = link;
    this.#handler = handler;
    this.#window = new PrefetchWindow(prefetch);
    this.#onError = onError;
    this.#port = this.#createPort();
  }

  get queue(): string {
    return this.#link.queue;
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
      if (!this.stopped && this.generation === generation) this.#link.restart(this);
    });
    await channel.prefetch(this.#window.prefetch, false);
    const { consumerTag } = await channel.consume(
      this.#link.queue,
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

  #deliver(msg: ConsumeMessage, generation: number): void {
    const message = wireMessageOf(msg, this.#link.capabilities.priorityLevels > 0);
    if (msg.fields.redelivered && !hasBrokerCount(msg, this.#link.quorum)) {
      void this.#recount(msg, message, generation);
      return;
    }
    this.#handOut(msg, message, generation, deliveryCountOf(msg, this.#link.quorum));
  }

  #handOut(msg: ConsumeMessage, message: WireMessage, generation: number, deliveryCount: number): void {
    const delivery = new TransportDelivery<AmqpReceipt>({
      port: this.#port,
      held: this.#link.held,
      window: this.#window,
      receipt: { msg, generation },
      queue: this.#link.queue,
      message,
      deliveryCount,
    });
    handToHandler(this.#handler, delivery, this.#onError);
  }

  /**
   * A classic queue only flags a redelivery, so the count would be a lower bound (2) however many
   * times the message came back. Instead of handing it out, a copy stamped with the deliveries it
   * had so far goes to the back of the queue (confirmed) before this one is acked: the copy arrives
   * unflagged and reports the exact count. A crash in between duplicates, never loses. When the copy
   * cannot be published (a full queue refuses it, a header cannot be written back) the message is
   * handed out as it is, counted by this consumer's memory of it (a message that keeps coming back
   * to the same worker still reaches its delivery limit), or at least 2.
   */
  async #recount(msg: ConsumeMessage, message: WireMessage, generation: number): Promise<void> {
    const carried = carriedCount(message);
    try {
      await this.#link.republish(this.#link.queue, msg, withCarriedCount(message, carried + 1).headers);
    } catch (error) {
      if (this.generation !== generation) return; // the channel went too: the broker requeued it
      if (!(error instanceof UnwritableHeaderError)) this.#onError(error);
      this.#handOut(msg, message, generation, this.#link.uncopied.next(msg, carried + 2));
      return;
    }
    this.#settleOnChannel({ msg, generation }, 'ack');
  }

  /** basic.ack / basic.nack(requeue) on the channel the message came on, coalesced per turn. */
  #settleOnChannel(receipt: AmqpReceipt, how: 'ack' | 'requeue'): boolean {
    const acks = this.#acks;
    if (!acks || receipt.generation !== this.generation) return false;
    if (how === 'ack') acks.ack(receipt.msg);
    else acks.requeue(receipt.msg);
    return true;
  }

  #createPort(): DeliveryPort<AmqpReceipt> {
    const link = this.#link;
    return {
      transportName: link.transportName,
      capabilities: link.capabilities,
      leaseLostReason: 'its channel was closed (the broker requeued it)',
      holds: (receipt) => receipt.generation === this.generation,
      settle: (receipt, settlement, message) => {
        if (settlement.kind !== 'requeue') return this.#settleOnChannel(receipt, 'ack');
        if (settlement.delayMs <= 0) return this.#settleOnChannel(receipt, 'requeue');
        // A delayed copy goes through the ladder (confirmed) before this one is acked: a crash in
        // between duplicates, never loses. The copy comes stamped with the count so far.
        return link.publish(link.queue, message!, settlement.delayMs).then(
          () => this.#settleOnChannel(receipt, 'ack'),
          (error: unknown) => {
            // A header that cannot be written back: the broker requeues the original bytes instead
            // (at once, not after the delay), so the message is never stuck with this consumer.
            if (error instanceof UnwritableHeaderError) return this.#settleOnChannel(receipt, 'requeue');
            throw error;
          },
        );
      },
      deadLetterQueueOf: (queue) => link.deadLetterQueueOf(queue),
      publishDeadLetter: (deadLetterQueue, letter) => link.publishDeadLetter(deadLetterQueue, letter),
    };
  }
}

/** Deliveries a re-published copy says it had before it (0 for an original). */
function carriedCount(message: WireMessage): number {
  const value = message.headers[CARRIED_DELIVERY_COUNT_HEADER];
  const count = typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}
