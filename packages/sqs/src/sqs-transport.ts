import { randomUUID } from 'node:crypto';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import {
  BatchPublishError,
  BrokerConnectionError,
  BrokerError,
  type ConsumeOptions,
  ConveyorError,
  checkHealth,
  checkPrefetch,
  checkPublish,
  DEAD_LETTER_REASON_HEADER,
  type DeliveryHandler,
  type DeliveryPort,
  defineCapabilities,
  describeTlsFailure,
  encodeKombuEnvelope,
  type HealthStatus,
  HeldDeliveries,
  InvalidOptionError,
  MessageTooLargeError,
  onAbort,
  type PublishEntry,
  type PublishOptions,
  type QueueDepth,
  type QueueSpec,
  type Transport,
  type TransportCapabilities,
  TransportClosedError,
  type TransportDelivery,
  UnsupportedFeatureError,
  type WireMessage,
} from '@conveyor/core/transport';
import { type BatchOutcome, DeleteBatcher, SQS_BATCH_ENTRIES } from './delete-batcher.js';
import {
  type ResolvedSqsOptions,
  resolveSqsOptions,
  SQS_MAX_DELAY_MS,
  type SqsTransportOptions,
} from './options.js';
import { isFifoName, MAX_QUEUE_NAME_LENGTH, sqsQueueName } from './queue-names.js';
import type { SqsReceipt } from './receipt.js';
import { encodeSqsBody, maxBodyBytes, SQS_MAX_MESSAGE_BYTES } from './sqs-body.js';
import { SqsConsumer, type SqsConsumerLink } from './sqs-consumer.js';

/**
 * Message attribute carrying the epoch ms before which a message must not be handed out: set on a
 * delay longer than one SQS hop (15 minutes). A consumer that receives it early sends it again
 * with the remaining delay and deletes it, so no process holds it meanwhile.
 */
export const NOT_BEFORE_ATTRIBUTE = 'x-conveyor-not-before';
/** kombu's MessageGroupId on a FIFO queue when the producer gives none. */
export const KOMBU_DEFAULT_GROUP = 'default';

/** How many message ids #unopened remembers at most. */
const UNOPENED_MEMORY = 100_000;

const SYSTEM_ATTRIBUTES = ['ApproximateReceiveCount', 'MessageGroupId'] as const;

/** One message ready to be sent: the request entry and its measured size. */
interface Outgoing {
  entry: SendMessageBatchRequestEntry;
  bytes: number;
}

/**
 * Conveyor on Amazon SQS (and SQS-compatible servers such as ElasticMQ). Messages are kombu's
 * SQS messages (mangled queue names, base64 JSON envelope), so Python Celery shares the queues.
 * Standard queues give native delays of any length (hops of 15 minutes); FIFO queues (`fifo:
 * true`) give per-key order and deduplication instead.
 */
export class SqsTransport implements Transport {
  readonly name = 'sqs';
  readonly capabilities: TransportCapabilities;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedSqsOptions;
  #client: SQSClient | undefined;
  /** Our own https agent (destroyed on close: the SDK leaves a given agent alone). */
  #agent: HttpsAgent | undefined;
  /** The first request's answer (see connect); unset again when it failed, so the next one retries. */
  #reached: Promise<void> | undefined;
  #closed = false;
  readonly #urls = new Map<string, Promise<string>>();
  readonly #deadLetterQueues = new Map<string, string | null>();
  readonly #consumers = new Set<SqsConsumer>();
  readonly #batchers = new Map<string, DeleteBatcher>();
  readonly #held = new HeldDeliveries();
  /** Receives given back unopened, by MessageId, until the message is settled (see #linkOf). */
  readonly #unopened = new Map<string, number>();
  readonly #visibilitySeconds: number;

  /** Opens a transport from an `sqs://` or `sqs+https://` URL (see SqsTransportOptions.url). */
  static fromUrl(url: string): SqsTransport {
    return new SqsTransport({ url });
  }

  constructor(options: SqsTransportOptions | string = {}) {
    this.options = resolveSqsOptions(typeof options === 'string' ? { url: options } : options);
    this.#visibilitySeconds = Math.ceil(this.options.visibilityTimeoutMs / 1000);
    const fifo = this.options.fifo;
    this.capabilities = defineCapabilities({
      // FIFO queues refuse a per-message DelaySeconds (AWS: "set it on the queue level only").
      delay: fifo
        ? { mode: 'none', maxDelayMs: null, precisionMs: 0 }
        : { mode: 'native', maxDelayMs: null, precisionMs: 1000 },
      priorityLevels: 0,
      ordering: fifo ? 'key' : 'none',
      deadLetter: true,
      maxMessageBytes: maxBodyBytes(SQS_MAX_MESSAGE_BYTES, this.options.base64Encoding),
      batchPublish: true,
      visibilityExtension: true,
      deduplication: fifo,
      redelivery: { trigger: 'visibility-timeout', visibilityTimeoutMs: this.#visibilitySeconds * 1000 },
    });
  }

  /**
   * Builds the client and makes sure the endpoint answers (one ListQueues, within
   * `connectTimeoutMs`): an unreachable or silent endpoint fails here, with a retryable
   * BrokerConnectionError, rather than in the first publish or receive. Any answer will do, an
   * error reply (such as AccessDenied) too: it proves the endpoint is there.
   */
  async connect(): Promise<void> {
    this.#assertOpen('connect');
    if (!this.#client) {
      this.#agent = this.options.endpoint?.startsWith('http:')
        ? undefined
        : new HandshakeBoundAgent(
            { keepAlive: true, maxSockets: 50, ...this.options.tls },
            this.options.connectTimeoutMs,
          );
      this.#client = createClient(this.options, this.#agent);
    }
    if (!this.#reached) {
      const reached = this.#firstAnswer();
      this.#reached = reached;
      reached.catch(() => {
        if (this.#reached === reached) this.#reached = undefined;
      });
    }
    await this.#reached;
  }

  async #firstAnswer(): Promise<void> {
    const limitMs = this.options.connectTimeoutMs;
    const where = this.options.endpoint ? new URL(this.options.endpoint).host : 'SQS';
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(
          new BrokerConnectionError(
            `connect to ${where} timed out after ${limitMs} ms (connectTimeoutMs): nothing answered`,
            { transport: this.name, retryable: true },
          ),
        );
      }, limitMs);
    });
    try {
      await Promise.race([
        this.#client!.send(new ListQueuesCommand({ MaxResults: 1 }), { abortSignal: abort.signal }),
        timedOut,
      ]);
    } catch (error) {
      if (isServiceReply(error)) return;
      throw this.#mapError(error, `connect to ${where}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const consumers = [...this.#consumers];
    for (const consumer of consumers) consumer.stop();
    await Promise.allSettled([...this.#batchers.values()].map((b) => b.drain()));
    const held = this.#held.closeAll<TransportDelivery<SqsReceipt>>();
    if (held.length > 0) await this.#handBack(held.map((d) => d.receipt)).catch(() => {});
    // Receives on their way finish (at most one long poll) and give back what they got.
    await Promise.allSettled(consumers.map((consumer) => consumer.idle()));
    this.#client?.destroy();
    this.#agent?.destroy();
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.#assertOpen('declareQueue');
    if (typeof spec?.name !== 'string' || spec.name === '')
      throw new InvalidOptionError('name', 'must be a non-empty string');
    if (spec.priorityLevels !== undefined && spec.priorityLevels > 1)
      throw new UnsupportedFeatureError('priority', `priorityLevels ${spec.priorityLevels} was declared`, {
        transport: this.name,
      });
    await this.connect();
    const deadLetterQueue = spec.deadLetterQueue === undefined ? `${spec.name}.dlq` : spec.deadLetterQueue;
    this.#deadLetterQueues.set(spec.name, deadLetterQueue);
    const url = await this.#urlOf(spec.name);
    const redrive = this.options.redriveMaxReceiveCount;
    if (redrive !== undefined && deadLetterQueue !== null) {
      const dlqUrl = await this.#urlOf(deadLetterQueue);
      const attrs = await this.#call(
        `GetQueueAttributes of "${deadLetterQueue}"`,
        this.#client!.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })),
      );
      const arn = attrs.Attributes?.QueueArn;
      if (arn) {
        await this.#call(
          `SetQueueAttributes of "${spec.name}"`,
          this.#client!.send(
            new SetQueueAttributesCommand({
              QueueUrl: url,
              Attributes: {
                RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: redrive }),
              },
            }),
          ),
        );
      }
    }
  }

  /** The SQS queue name a Conveyor queue maps to (kombu's mangling, prefix, `.fifo`). */
  sqsQueueName(queue: string): string {
    return sqsQueueName(queue, this.options.queueNamePrefix, this.options.fifo);
  }

  /** The queue's URL; the queue is created (as kombu does) when it does not exist. */
  queueUrl(queue: string): Promise<string> {
    this.#assertOpen('queueUrl');
    return this.connect().then(() => this.#urlOf(queue));
  }

  #urlOf(queue: string): Promise<string> {
    const name = this.sqsQueueName(queue);
    let url = this.#urls.get(name);
    if (!url) {
      url = this.#lookUpOrCreate(name);
      this.#urls.set(name, url);
      url.catch(() => this.#urls.delete(name));
    }
    return url;
  }

  async #lookUpOrCreate(name: string): Promise<string> {
    if (name.length > MAX_QUEUE_NAME_LENGTH || !/^[A-Za-z0-9_-]+(\.fifo)?$/.test(name))
      throw new InvalidOptionError(
        'queue',
        `SQS queue name "${name}" must be 1 to ${MAX_QUEUE_NAME_LENGTH} characters of letters, digits, - and _ (after kombu's mangling)`,
        { transport: this.name },
      );
    const client = this.#client!;
    try {
      const found = await client.send(new GetQueueUrlCommand({ QueueName: name }));
      if (found.QueueUrl) return found.QueueUrl;
    } catch (error) {
      if (!isQueueMissing(error)) throw this.#mapError(error, `GetQueueUrl of "${name}"`);
    }
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(this.#visibilitySeconds),
      MessageRetentionPeriod: '1209600',
    };
    if (isFifoName(name)) attributes.FifoQueue = 'true';
    const created = await this.#call(
      `CreateQueue "${name}"`,
      this.#client!.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })),
    );
    if (!created.QueueUrl)
      throw new BrokerError(`CreateQueue "${name}" returned no QueueUrl`, { transport: this.name });
    return created.QueueUrl;
  }

  /** Dead-letter queue of `queue` (`<queue>.dlq` unless declared otherwise), or null for none. */
  #deadLetterQueueOf(queue: string): string | null {
    const declared = this.#deadLetterQueues.get(queue);
    return declared === undefined ? `${queue}.dlq` : declared;
  }

  async publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    this.#assertOpen('publish');
    checkPublish(this.name, this.capabilities, message, options);
    await this.connect();
    const url = await this.#urlOf(queue);
    const { entry } = this.#outgoing(queue, url, message, options, '0');
    const { Id: _id, ...fields } = entry;
    await this.#call(
      `publish to "${queue}"`,
      this.#client!.send(new SendMessageCommand({ QueueUrl: url, ...fields })),
    );
  }

  async publishBatch(queue: string, entries: readonly PublishEntry[]): Promise<void> {
    this.#assertOpen('publish');
    for (const e of entries) checkPublish(this.name, this.capabilities, e.message, e.options);
    if (entries.length === 0) return;
    await this.connect();
    const url = await this.#urlOf(queue);
    const outgoing = entries.map((e, i) => this.#outgoing(queue, url, e.message, e.options, String(i)));
    const chunks = chunk(outgoing);
    const failed: { index: number; error: unknown }[] = [];
    const send = async (part: Outgoing[]): Promise<void> => {
      try {
        const reply = await this.#client!.send(
          new SendMessageBatchCommand({ QueueUrl: url, Entries: part.map((o) => o.entry) }),
        );
        for (const f of reply.Failed ?? []) {
          failed.push({
            index: Number(f.Id),
            error: new BrokerError(`SendMessageBatch entry ${f.Id}: ${f.Code} ${f.Message ?? ''}`.trim(), {
              transport: this.name,
              retryable: !f.SenderFault,
            }),
          });
        }
      } catch (error) {
        const mapped = this.#mapError(error, `publishBatch to "${queue}"`);
        for (const o of part) failed.push({ index: Number(o.entry.Id), error: mapped });
      }
    };
    // FIFO keeps group order only if the calls go one after another.
    if (isFifoName(this.sqsQueueName(queue))) for (const part of chunks) await send(part);
    else await Promise.all(chunks.map(send));
    if (failed.length > 0) {
      failed.sort((a, b) => a.index - b.index);
      throw new BatchPublishError(failed, entries.length, { transport: this.name });
    }
  }

  /** Builds the request entry of one message and checks its encoded size against SQS's limit. */
  #outgoing(
    queue: string,
    url: string,
    message: WireMessage,
    options: PublishOptions | undefined,
    id: string,
  ): Outgoing {
    const fifo = isFifoName(this.sqsQueueName(queue));
    const envelope = encodeKombuEnvelope(message, { exchange: '', routing_key: queue }, randomUUID());
    const body = encodeSqsBody(envelope, this.options.base64Encoding);
    const entry: SendMessageBatchRequestEntry = { Id: id, MessageBody: body };
    const delayMs = options?.delayMs ?? 0;
    if (delayMs > 0) {
      if (fifo)
        throw new UnsupportedFeatureError('delay', `FIFO queue "${queue}" takes no per-message delay`, {
          transport: this.name,
        });
      this.#setDelay(entry, delayMs, Date.now() + delayMs);
    }
    if (fifo) {
      entry.MessageGroupId = options?.orderingKey ?? KOMBU_DEFAULT_GROUP;
      entry.MessageDeduplicationId = options?.deduplicationId ?? randomUUID();
    }
    const bytes = sizeOf(entry);
    if (bytes > SQS_MAX_MESSAGE_BYTES) {
      throw new MessageTooLargeError(bytes, SQS_MAX_MESSAGE_BYTES, { transport: this.name });
    }
    void url;
    return { entry, bytes };
  }

  /** DelaySeconds of one hop; a longer delay also carries its due time for the next hops. */
  #setDelay(
    entry:
      | SendMessageBatchRequestEntry
      | { DelaySeconds?: number; MessageAttributes?: Record<string, MessageAttributeValue> },
    delayMs: number,
    dueAt: number,
  ): void {
    const hop = this.options.maxNativeDelayMs;
    entry.DelaySeconds = Math.ceil(Math.min(delayMs, hop) / 1000);
    if (delayMs > hop) {
      entry.MessageAttributes = {
        ...entry.MessageAttributes,
        [NOT_BEFORE_ATTRIBUTE]: { DataType: 'Number', StringValue: String(Math.ceil(dueAt)) },
      };
    }
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<void> {
    this.#assertOpen('consume');
    checkPrefetch(this.name, options?.prefetch);
    await this.connect();
    await this.#urlOf(queue);
    if (options.signal?.aborted) return;
    const consumer = new SqsConsumer(
      this.#linkOf(queue),
      handler,
      options.prefetch,
      options.onError ?? (() => {}),
    );
    this.#consumers.add(consumer);
    onAbort(options.signal, () => {
      consumer.stop();
      this.#consumers.delete(consumer);
    });
    if (!options.signal?.aborted) consumer.start();
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.#assertOpen('queueDepth');
    await this.connect();
    const url = await this.#urlOf(queue);
    const reply = await this.#call(
      `queueDepth of "${queue}"`,
      this.#client!.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      ),
    );
    const a = reply.Attributes ?? {};
    return {
      ready: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: numberOrUndefined(a.ApproximateNumberOfMessagesNotVisible),
      delayed: numberOrUndefined(a.ApproximateNumberOfMessagesDelayed),
    };
  }

  health(): Promise<HealthStatus> {
    return checkHealth(this.#closed, async () => {
      await this.connect();
      await this.#client!.send(new ListQueuesCommand({ MaxResults: 1 }));
    });
  }

  #linkOf(queue: string): SqsConsumerLink {
    const port: DeliveryPort<SqsReceipt> = {
      transportName: this.name,
      capabilities: this.capabilities,
      leaseLostReason: 'its visibility timeout ran out',
      holds: (receipt) => Date.now() < receipt.deadline,
      settle: (receipt, settlement, message) => {
        if (settlement.kind === 'ack' || settlement.kind === 'dead-lettered') {
          this.#unopened.delete(receipt.messageId);
          return this.#batcherOf(receipt.queueUrl).push(receipt);
        }
        if (settlement.delayMs <= SQS_MAX_DELAY_MS)
          return this.#changeVisibility(receipt, Math.ceil(settlement.delayMs / 1000));
        return this.#requeueLater(queue, receipt, message, settlement.delayMs);
      },
      deadLetterQueueOf: (name) => this.#deadLetterQueueOf(name),
      publishDeadLetter: (deadLetterQueue, letter) => this.#publishDeadLetter(deadLetterQueue, letter),
      extendVisibility: async (receipt, ms) => {
        const startedAt = Date.now();
        const applied = await this.#changeVisibility(receipt, Math.ceil(ms / 1000));
        if (applied) receipt.deadline = startedAt + ms;
        return applied;
      },
    };
    return {
      queue,
      port,
      held: this.#held,
      visibilityMs: this.#visibilitySeconds * 1000,
      waitTimeSeconds: this.options.waitTimeSeconds,
      receive: async (count) => {
        const queueUrl = await this.#urlOf(queue);
        const reply = await this.#call(
          `receive from "${queue}"`,
          this.#client!.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: count,
              WaitTimeSeconds: this.options.waitTimeSeconds,
              VisibilityTimeout: this.#visibilitySeconds,
              MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
              MessageAttributeNames: ['All'],
            }),
          ),
        );
        return { messages: reply.Messages ?? [], queueUrl };
      },
      forwardIfEarly: (message, queueUrl) => this.#forwardIfEarly(queue, message, queueUrl),
      handBack: (receipts) => {
        for (const { messageId } of receipts) {
          this.#unopened.set(messageId, (this.#unopened.get(messageId) ?? 0) + 1);
          // Bounded: a message settled by another process leaves its entry here; drop the oldest.
          if (this.#unopened.size > UNOPENED_MEMORY) {
            const oldest = this.#unopened.keys().next().value;
            if (oldest !== undefined) this.#unopened.delete(oldest);
          }
        }
        return this.#handBack(receipts);
      },
      unopened: (messageId) => this.#unopened.get(messageId) ?? 0,
    };
  }

  /** The next hop of a long delay: sent again with what remains, then the early copy deleted. */
  async #forwardIfEarly(queue: string, message: Message, queueUrl: string): Promise<boolean> {
    const attribute = message.MessageAttributes?.[NOT_BEFORE_ATTRIBUTE]?.StringValue;
    if (attribute === undefined) return false;
    const dueAt = Number(attribute);
    const remaining = dueAt - Date.now();
    if (!Number.isFinite(dueAt) || remaining <= 0) return false;
    const copy: { DelaySeconds?: number; MessageAttributes?: Record<string, MessageAttributeValue> } = {
      MessageAttributes: withoutNotBefore(message.MessageAttributes),
    };
    this.#setDelay(copy, remaining, dueAt);
    await this.#call(
      `delay hop on "${queue}"`,
      this.#client!.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body ?? '', ...copy }),
      ),
    );
    // Sent before deleted: a crash in between leaves a duplicate, never a loss.
    await this.#call(
      `delete of a forwarded message on "${queue}"`,
      this.#client!.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      ),
    );
    return true;
  }

  /** A nack delay longer than SQS holds a message invisible: a delayed copy, then the original deleted. */
  async #requeueLater(
    queue: string,
    receipt: SqsReceipt,
    message: WireMessage | null,
    delayMs: number,
  ): Promise<boolean> {
    if (!message) return this.#changeVisibility(receipt, SQS_MAX_DELAY_MS / 1000);
    const envelope = encodeKombuEnvelope(message, { exchange: '', routing_key: queue }, randomUUID());
    const copy: { DelaySeconds?: number; MessageAttributes?: Record<string, MessageAttributeValue> } = {};
    this.#setDelay(copy, delayMs, Date.now() + delayMs);
    await this.#call(
      `delayed nack on "${queue}"`,
      this.#client!.send(
        new SendMessageCommand({
          QueueUrl: receipt.queueUrl,
          MessageBody: encodeSqsBody(envelope, this.options.base64Encoding),
          ...copy,
        }),
      ),
    );
    return this.#batcherOf(receipt.queueUrl).push(receipt);
  }

  async #publishDeadLetter(deadLetterQueue: string, letter: WireMessage): Promise<void> {
    await this.connect();
    const url = await this.#urlOf(deadLetterQueue);
    const { entry } = this.#outgoing(deadLetterQueue, url, letter, undefined, '0');
    const { Id: _id, ...fields } = entry;
    const reason = letter.headers[DEAD_LETTER_REASON_HEADER];
    if (typeof reason === 'string') {
      // An attribute as well as the header, so the SQS console and tools see why without decoding.
      fields.MessageAttributes = {
        ...fields.MessageAttributes,
        [DEAD_LETTER_REASON_HEADER]: { DataType: 'String', StringValue: reason.slice(0, 1024) || '-' },
      };
    }
    await this.#call(
      `dead-letter to "${deadLetterQueue}"`,
      this.#client!.send(new SendMessageCommand({ QueueUrl: url, ...fields })),
    );
  }

  /** ChangeMessageVisibility; false when the receipt handle is no longer valid (lease lost). */
  async #changeVisibility(receipt: SqsReceipt, seconds: number): Promise<boolean> {
    try {
      await this.#client!.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: receipt.queueUrl,
          ReceiptHandle: receipt.handle,
          VisibilityTimeout: seconds,
        }),
      );
      return true;
    } catch (error) {
      if (isStaleReceipt(error)) return false;
      if (/beyond the limit|43200/i.test(messageOf(error))) {
        throw new BrokerError(
          `SQS refuses to keep a message invisible more than 12 hours after its first receive: ${messageOf(error)}`,
          { cause: error, transport: this.name, retryable: false },
        );
      }
      throw this.#mapError(error, 'ChangeMessageVisibility');
    }
  }

  async #handBack(receipts: SqsReceipt[]): Promise<void> {
    const byQueue = new Map<string, SqsReceipt[]>();
    for (const r of receipts) byQueue.set(r.queueUrl, [...(byQueue.get(r.queueUrl) ?? []), r]);
    const calls: Promise<unknown>[] = [];
    for (const [queueUrl, list] of byQueue) {
      for (let i = 0; i < list.length; i += SQS_BATCH_ENTRIES) {
        const part = list.slice(i, i + SQS_BATCH_ENTRIES);
        calls.push(
          this.#client!.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: queueUrl,
              Entries: part.map((r, j) => ({ Id: String(j), ReceiptHandle: r.handle, VisibilityTimeout: 0 })),
            }),
          ),
        );
      }
    }
    await Promise.all(calls);
  }

  #batcherOf(queueUrl: string): DeleteBatcher {
    let batcher = this.#batchers.get(queueUrl);
    if (!batcher) {
      batcher = new DeleteBatcher((receipts) => this.#deleteBatch(queueUrl, receipts));
      this.#batchers.set(queueUrl, batcher);
    }
    return batcher;
  }

  async #deleteBatch(queueUrl: string, receipts: SqsReceipt[]): Promise<BatchOutcome[]> {
    const reply = await this.#call(
      'DeleteMessageBatch',
      this.#client!.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: receipts.map((r, i) => ({ Id: String(i), ReceiptHandle: r.handle })),
        }),
      ),
    );
    const outcomes: BatchOutcome[] = receipts.map(() => true);
    for (const f of reply.Failed ?? []) {
      const i = Number(f.Id);
      outcomes[i] =
        f.Code === 'ReceiptHandleIsInvalid' || f.Code === 'InvalidParameterValue'
          ? false
          : {
              error: new BrokerError(`DeleteMessage: ${f.Code} ${f.Message ?? ''}`.trim(), {
                transport: this.name,
              }),
            };
    }
    return outcomes;
  }

  /** Awaits one SDK request, its failure mapped to a ConveyorError naming `what`. */
  async #call<Output>(what: string, request: Promise<Output>): Promise<Output> {
    try {
      return await request;
    } catch (error) {
      throw this.#mapError(error, what);
    }
  }

  #mapError(error: unknown, what: string): ConveyorError {
    if (error instanceof ConveyorError) return error;
    const text = messageOf(error);
    const tls = describeTlsFailure(error, { ca: 'tls.ca', clientCertificate: 'tls.cert and tls.key' });
    // Not retryable: the same certificates fail the same way again.
    if (tls)
      return new BrokerConnectionError(`${what} failed: ${tls}`, {
        cause: error,
        transport: this.name,
        retryable: false,
      });
    const code = (error as { code?: unknown; name?: unknown } | null)?.code;
    if (
      /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|TimeoutError|EHOSTUNREACH|ENOTFOUND/i.test(
        `${text} ${String(code)} ${String((error as { name?: unknown })?.name)}`,
      )
    ) {
      return new BrokerConnectionError(`${what} failed: ${text}`, {
        cause: error,
        transport: this.name,
        retryable: true,
      });
    }
    return new BrokerError(`${what} failed: ${text}`, { cause: error, transport: this.name });
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new TransportClosedError(operation, { transport: this.name });
  }
}

/**
 * An https agent whose sockets are destroyed when the TLS handshake does not end within
 * `handshakeTimeoutMs`: the SDK's connectionTimeout stops at the TCP connect, so a server that
 * accepts the connection and never finishes the handshake would hang the request otherwise.
 */
class HandshakeBoundAgent extends HttpsAgent {
  readonly #handshakeTimeoutMs: number;

  constructor(options: HttpsAgentOptions, handshakeTimeoutMs: number) {
    super(options);
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
  }

  override createConnection(...args: Parameters<HttpsAgent['createConnection']>): Duplex {
    // Node's https.Agent returns a TLSSocket (typed as Duplex on the base class).
    const socket = super.createConnection(...args) as TLSSocket;
    const limitMs = this.#handshakeTimeoutMs;
    const timer = setTimeout(() => {
      socket.destroy(
        Object.assign(new Error(`TLS handshake not finished within ${limitMs} ms (connectTimeoutMs)`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, limitMs);
    const done = (): void => clearTimeout(timer);
    socket.once('secureConnect', done);
    socket.once('close', done);
    return socket;
  }
}

/** An SDK error that carries an HTTP status: the server answered (the endpoint is reachable). */
function isServiceReply(error: unknown): boolean {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number';
}

/** The SDK client: region and credentials from the provider chain, the endpoint if given. */
function createClient(options: ResolvedSqsOptions, httpsAgent: HttpsAgent | undefined): SQSClient {
  // The contract: a transport never retries a publish or a settle itself (a retried send whose
  // reply was lost is a duplicate); it reports `retryable` and core decides. Receives recover in
  // the consumer's own loop.
  const config: SQSClientConfig = { maxAttempts: 1 };
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  else if (options.endpoint) config.region = 'us-east-1';
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    // A local server (ElasticMQ, LocalStack) ignores credentials: any will do when the chain has none.
    const chain = new SQSClient({ region: config.region ?? 'us-east-1' }).config.credentials;
    config.credentials = async () => {
      try {
        return await chain();
      } catch {
        return { accessKeyId: 'conveyor', secretAccessKey: 'conveyor' };
      }
    };
  }
  // The SDK's Node handler has no timeouts by default: a silent endpoint would hang a request for
  // good. Over https, the agent has the private CA or client certificate, if any, and bounds the
  // TLS handshake.
  config.requestHandler = {
    connectionTimeout: options.connectTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    throwOnRequestTimeout: true,
    ...(httpsAgent ? { httpsAgent } : {}),
  };
  return new SQSClient({ ...config, ...options.client });
}

function chunk(outgoing: Outgoing[]): Outgoing[][] {
  const chunks: Outgoing[][] = [];
  let current: Outgoing[] = [];
  let bytes = 0;
  for (const o of outgoing) {
    if (
      current.length === SQS_BATCH_ENTRIES ||
      (current.length > 0 && bytes + o.bytes > SQS_MAX_MESSAGE_BYTES)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += o.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What SQS counts against its 256 KiB: the body and every attribute's name, type and value. */
function sizeOf(entry: {
  MessageBody?: string;
  MessageAttributes?: Record<string, MessageAttributeValue>;
}): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? '', 'utf8');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

function withoutNotBefore(
  attributes: Record<string, MessageAttributeValue> | undefined,
): Record<string, MessageAttributeValue> | undefined {
  if (!attributes) return undefined;
  const { [NOT_BEFORE_ATTRIBUTE]: _dropped, ...rest } = attributes;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

function errorName(error: unknown): string {
  const e = error as { name?: unknown; Code?: unknown; code?: unknown } | null;
  return `${String(e?.name)} ${String(e?.Code)} ${String(e?.code)}`;
}

function isQueueMissing(error: unknown): boolean {
  return /QueueDoesNotExist|NonExistentQueue/.test(`${errorName(error)} ${messageOf(error)}`);
}

function isStaleReceipt(error: unknown): boolean {
  return (
    /ReceiptHandleIsInvalid|MessageNotInflight|InvalidParameterValue/.test(errorName(error)) &&
    !/beyond the limit|43200/i.test(messageOf(error))
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
