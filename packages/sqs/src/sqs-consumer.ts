import type { Message } from '@aws-sdk/client-sqs';
import {
  type DeliveryHandler,
  type DeliveryPort,
  type HeldDeliveries,
  handToHandler,
  MalformedMessageError,
  PrefetchWindow,
  TransportDelivery,
  type WireMessage,
} from '@conveyor/core/transport';
import type { SqsReceipt } from './receipt.js';
import { decodeSqsBody } from './sqs-body.js';

/** SQS hands out at most this many messages per receive. */
export const SQS_RECEIVE_MAX = 10;
/** Receives one consumer keeps on their way at most, whatever its prefetch. */
const MAX_PARALLEL_RECEIVES = 16;

/** What a consumer needs of its transport (see SqsTransport#linkOf). */
export interface SqsConsumerLink {
  readonly queue: string;
  readonly port: DeliveryPort<SqsReceipt>;
  readonly held: HeldDeliveries;
  /** One ReceiveMessage of up to `count` messages (long poll). */
  receive(count: number): Promise<{ messages: Message[]; queueUrl: string }>;
  /**
   * A message that arrived before the due time its not-before attribute carries: sent again with
   * the remaining delay and deleted, never handed out. Returns false when it is due after all.
   */
  forwardIfEarly(message: Message, queueUrl: string): Promise<boolean>;
  /**
   * Gives received messages back at once (visibility 0), undelivered. SQS counted those receives
   * all the same: the transport remembers them so that `unopened` can take them off the count.
   */
  handBack(receipts: SqsReceipt[]): Promise<void>;
  /** How many receives of this message were given back unopened by this transport (see handBack). */
  unopened(messageId: string): number;
  /** Visibility timeout a receive asks for, in ms (whole seconds). */
  readonly visibilityMs: number;
  /** 0 means short polling: an empty receive then waits a little before the next. */
  readonly waitTimeSeconds: number;
}

/**
 * One consumer of one queue: as many long-poll receives in parallel as its prefetch window
 * allows, each for at most 10 messages, so that messages received plus those asked for never
 * exceed the prefetch. A settlement frees a slot and starts the next receive.
 */
export class SqsConsumer {
  readonly #link: SqsConsumerLink;
  readonly #window: PrefetchWindow;
  readonly #handler: DeliveryHandler;
  readonly #onError: (error: unknown) => void;
  readonly #receives = new Set<Promise<void>>();
  #reserved = 0;
  #refillScheduled = false;
  #stopped = false;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    link: SqsConsumerLink,
    handler: DeliveryHandler,
    prefetch: number,
    onError: (e: unknown) => void,
  ) {
    this.#link = link;
    this.#handler = handler;
    this.#onError = onError;
    this.#window = new PrefetchWindow(prefetch, () => this.#released());
  }

  get queue(): string {
    return this.#link.queue;
  }

  start(): void {
    this.#pump();
  }

  /** Stops receiving; receives on their way finish and give back what they got. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
  }

  /** Resolves when no receive is on its way. */
  async idle(): Promise<void> {
    while (this.#receives.size > 0) await Promise.allSettled([...this.#receives]);
  }

  /**
   * A delivery was settled: a slot is free. The refill waits one turn of the event loop, so that
   * the slots freed by the acks of one batch are refilled by one receive rather than one each.
   */
  #released(): void {
    if (this.#refillScheduled || this.#stopped) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#failures > 0 && this.#retryTimer !== undefined) return;
    const prefetch = this.#window.prefetch;
    const parallel = Math.min(MAX_PARALLEL_RECEIVES, Math.ceil(prefetch / SQS_RECEIVE_MAX));
    while (!this.#stopped && this.#receives.size < parallel) {
      const free = this.#window.free - this.#reserved;
      // While a receive is on its way, another one waits for a worthwhile batch: receives of one
      // message each would cost a request per message.
      const worthwhile = this.#receives.size === 0 ? 1 : Math.min(SQS_RECEIVE_MAX, Math.ceil(prefetch / 2));
      if (free < worthwhile) return;
      const receive = this.#receive(Math.min(SQS_RECEIVE_MAX, free));
      this.#receives.add(receive);
      void receive.finally(() => {
        this.#receives.delete(receive);
        this.#pump();
      });
    }
  }

  async #receive(count: number): Promise<void> {
    this.#reserved += count;
    let got: Awaited<ReturnType<SqsConsumerLink['receive']>>;
    try {
      got = await this.#link.receive(count);
      this.#failures = 0;
    } catch (error) {
      this.#reserved -= count;
      this.#failures += 1;
      this.#onError(error);
      // Back off while SQS is unreachable; the SDK opens new connections by itself.
      await this.#pause(Math.min(5000, 100 * 2 ** this.#failures));
      return;
    }
    const { messages, queueUrl } = got;
    // SQS starts the timeout when it answers, somewhere between the request and the reply: a long
    // poll may wait seconds before that, so the reply's arrival is the better measure.
    const receivedAt = Date.now();
    const receipts = messages.map((m) => receiptOf(m, queueUrl, receivedAt + this.#link.visibilityMs));
    if (this.#stopped) {
      this.#reserved -= count;
      if (receipts.length > 0) await this.#link.handBack(receipts).catch(this.#onError);
      return;
    }
    const ready: [Message, SqsReceipt][] = [];
    await Promise.all(
      messages.map(async (message, i) => {
        try {
          if (await this.#link.forwardIfEarly(message, queueUrl)) return;
        } catch (error) {
          // Not forwarded: it comes back after its visibility timeout and is forwarded then.
          this.#onError(error);
          return;
        }
        ready.push([message, receipts[i]!]);
      }),
    );
    // The received messages become held: release the reservation before handing them out.
    this.#reserved -= count;
    if (this.#stopped) {
      // Stopped while early ones were forwarded: give the rest back rather than hand them out.
      if (ready.length > 0) await this.#link.handBack(ready.map(([, r]) => r)).catch(this.#onError);
      return;
    }
    ready.sort((a, b) => messages.indexOf(a[0]) - messages.indexOf(b[0]));
    for (const [message, receipt] of ready) this.#deliver(message, receipt);
    if (messages.length === 0 && this.#link.waitTimeSeconds === 0) await this.#pause(100);
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        resolve();
      }, ms);
    });
  }

  #deliver(sqs: Message, receipt: SqsReceipt): void {
    const body = sqs.Body ?? '';
    let message: WireMessage | null = null;
    let malformed: MalformedMessageError | null = null;
    try {
      message = decodeSqsBody(body).message;
    } catch (error) {
      malformed = error instanceof MalformedMessageError ? error : new MalformedMessageError(String(error));
    }
    // ApproximateReceiveCount counts receives, including those a paused consumer gave back without
    // handing them out: those were no delivery, or every pause (a suspect running alone) would
    // charge the healthy messages around it until the delivery limit dead-letters them.
    const count =
      Number(sqs.Attributes?.ApproximateReceiveCount ?? '1') - this.#link.unopened(receipt.messageId);
    const delivery = new TransportDelivery<SqsReceipt>({
      port: this.#link.port,
      held: this.#link.held,
      window: this.#window,
      receipt,
      queue: this.#link.queue,
      message,
      malformed,
      raw: () => Buffer.from(body, 'utf8'),
      deliveryCount: Number.isInteger(count) && count > 0 ? count : 1,
      // Only where keys are claimed: SQS fair queues (standard queues that newer kombu gives a
      // group) would otherwise hand core a key that its re-publish (a retry) is refused with.
      orderingKey:
        this.#link.port.capabilities.ordering === 'key' ? sqs.Attributes?.MessageGroupId : undefined,
    });
    handToHandler(this.#handler, delivery, this.#onError);
  }
}

function receiptOf(message: Message, queueUrl: string, deadline: number): SqsReceipt {
  return { queueUrl, handle: message.ReceiptHandle ?? '', messageId: message.MessageId ?? '', deadline };
}
