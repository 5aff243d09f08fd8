import type { Channel, ConsumeMessage } from 'amqplib';

/**
 * The acks of one consumer channel, written once per event-loop turn. Deliveries finished in the
 * same turn with contiguous tags become one `basic.ack(multiple)`; the rest are acked one by one in
 * the same turn, so a long task at the head never holds back the prefetch credit of the others.
 *
 * Why: RabbitMQ's queue process spends a large part of each message on its ack, and one frame per
 * ack is one socket write on both sides. A multiple-ack covers every unacked tag up to it on the
 * channel, which is only safe because deliveries still held by a handler stop the contiguous run.
 */
export class AckCoalescer {
  readonly #channel: Channel;
  /** Tags the broker delivered and that are not acked on the wire yet, in delivery order. */
  readonly #outstanding = new Map<number, { msg: ConsumeMessage; ackPending: boolean }>();
  #pending = 0;
  #scheduled = false;
  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** Records a delivery of this channel (in the order the broker sent them). */
  delivered(msg: ConsumeMessage): void {
    this.#outstanding.set(msg.fields.deliveryTag, { msg, ackPending: false });
  }

  /** Acks the delivery in the next flush. */
  ack(msg: ConsumeMessage): void {
    const entry = this.#outstanding.get(msg.fields.deliveryTag);
    if (!entry || entry.ackPending) return;
    entry.ackPending = true;
    this.#pending += 1;
    // Nothing else is held on the channel: no later ack in this turn could join the run, so waiting
    // for the end of the turn would only add latency (at prefetch 1, to every message).
    if (this.#pending === this.#outstanding.size) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  /** Requeues the delivery at once (basic.nack); a later multiple-ack passes over its tag. */
  requeue(msg: ConsumeMessage): void {
    if (!this.#outstanding.delete(msg.fields.deliveryTag)) return;
    this.#channel.nack(msg, false, true);
  }

  /** Writes every pending ack now: before the channel closes, and once per turn. */
  flush(): void {
    if (this.#pending === 0) return;
    try {
      this.#write();
    } catch {
      // The channel is closed: the broker requeued everything unacked on it, and those deliveries
      // were voided with their channel. Nothing left to write.
      this.#outstanding.clear();
      this.#pending = 0;
    }
  }

  #write(): void {
    let contiguous: ConsumeMessage | undefined;
    for (const [tag, entry] of this.#outstanding) {
      if (!entry.ackPending) break;
      contiguous = entry.msg;
      this.#outstanding.delete(tag);
      this.#pending -= 1;
    }
    if (contiguous) this.#channel.ack(contiguous, true);
    if (this.#pending === 0) return;
    for (const [tag, entry] of this.#outstanding) {
      if (!entry.ackPending) continue;
      this.#channel.ack(entry.msg, false);
      this.#outstanding.delete(tag);
      this.#pending -= 1;
    }
  }
}
