import { celeryKombuArgument, celeryKombuEnvelope } from './celery-kombu-envelope.js';

/**
 * What Celery puts on an SQS queue through kombu (docs/celery-wire.md §4): kombu's envelope, base64
 * again (`sqs_base64_encoding`).
 */
export function celerySqsBody(queue: string, task: string, value: number): string {
  return Buffer.from(celeryKombuEnvelope(queue, task, value)).toString('base64');
}

/** The task's first argument, read back through both base64 layers (what any Celery consumer decodes). */
export function celerySqsArgument(messageBody: string): number {
  return celeryKombuArgument(Buffer.from(messageBody, 'base64').toString('utf8'));
}
