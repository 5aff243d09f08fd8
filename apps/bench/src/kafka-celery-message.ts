import { celeryKombuArgument, celeryKombuEnvelope } from './celery-kombu-envelope.js';

/**
 * What Celery puts on a Kafka topic through kombu (docs/celery-wire.md §5): kombu's envelope as the
 * record value (no key, no headers).
 */
export function celeryKafkaValue(topic: string, task: string, value: number): Buffer {
  return Buffer.from(celeryKombuEnvelope(topic, task, value));
}

/** The task's first argument, read back from a record value. */
export function celeryKafkaArgument(recordValue: Buffer | null | undefined): number {
  if (!recordValue) throw new Error('Kafka record without a value');
  return celeryKombuArgument(recordValue.toString('utf8'));
}
