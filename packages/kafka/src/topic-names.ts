import { InvalidOptionError } from '@conveyor/core/transport';

/** Kafka refuses topic names longer than this. */
export const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * The topic of a Conveyor queue, as kombu's Kafka transport names it: the queue name with `@`
 * removed (kombu turns `celery@host` style names into topics that way). Kafka allows only
 * `[A-Za-z0-9._-]`; anything else is refused with the name in the error rather than mangled
 * silently, so Python and Node always agree on the topic.
 */
export function kafkaTopicName(queue: string): string {
  const topic = queue.replaceAll('@', '');
  if (topic === '' || topic === '.' || topic === '..')
    throw new InvalidOptionError('queue', `"${queue}" gives no usable Kafka topic name`);
  if (topic.length > MAX_TOPIC_NAME_LENGTH)
    throw new InvalidOptionError(
      'queue',
      `"${queue}" is longer than Kafka's ${MAX_TOPIC_NAME_LENGTH} characters`,
    );
  if (!/^[A-Za-z0-9._-]+$/.test(topic))
    throw new InvalidOptionError('queue', `"${queue}": Kafka topic names allow only A-Z a-z 0-9 . _ -`);
  return topic;
}

/** kombu's consumer group of a topic: Python and Node workers of one queue share it. */
export function consumerGroupOf(topic: string): string {
  return `${topic}-consumer-group`;
}

/**
 * The group whose committed-offset metadata records how often each unsettled offset of the topic
 * was handed out (see HandoutLedger). It never has members.
 */
export function handoutLedgerGroupOf(topic: string): string {
  return `${topic}-consumer-group.conveyor-handouts`;
}

/** The default dead-letter queue of a queue. */
export function defaultDeadLetterQueue(queue: string): string {
  return `${queue}.dlq`;
}
