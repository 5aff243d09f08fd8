/**
 * @conveyor/sqs: the Amazon SQS transport for Conveyor (standard and FIFO queues, delays of any
 * length, kombu/Celery-compatible messages).
 */
import type { Transport } from '@conveyor/core';
import { SqsTransport } from './sqs-transport.js';

export {
  parseSqsUrl,
  type ResolvedSqsOptions,
  SQS_MAX_DELAY_MS,
  SQS_MAX_VISIBILITY_MS,
  type SqsTransportOptions,
} from './options.js';
export { FIFO_SUFFIX, kombuEntityName, MAX_QUEUE_NAME_LENGTH, sqsQueueName } from './queue-names.js';
export {
  decodeSqsBody,
  ENVELOPE_ALLOWANCE_BYTES,
  encodeSqsBody,
  maxBodyBytes,
  SQS_MAX_MESSAGE_BYTES,
} from './sqs-body.js';
export { KOMBU_DEFAULT_GROUP, NOT_BEFORE_ATTRIBUTE, SqsTransport } from './sqs-transport.js';

/** Opens an SqsTransport from an `sqs://` or `sqs+https://host:port` URL. */
export function createTransportFromUrl(url: string): Transport {
  return new SqsTransport({ url });
}
