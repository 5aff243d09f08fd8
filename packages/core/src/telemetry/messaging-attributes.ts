/**
 * Attribute names and values of OpenTelemetry's messaging semantic conventions (v1.27 and
 * later: `messaging.operation.type`, span names `send <queue>` / `process <queue>`), plus the
 * Celery task name under the key opentelemetry-instrumentation-celery uses, so that Node and
 * Python spans of one queue read alike.
 */
export const MESSAGING_SYSTEM = 'messaging.system';
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id';
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const CELERY_TASK_NAME = 'celery.task_name';
/** How many times the task was retried before this message (Celery's `retries` header). */
export const CELERY_RETRIES = 'celery.retries';
/** Deliveries of this message so far, 1 for the first (above 1: redelivered after a crash). */
export const CONVEYOR_DELIVERY_COUNT = 'conveyor.delivery_count';

/** Transport names mapped to the conventions' `messaging.system` values; others pass as they are. */
const SYSTEM_BY_TRANSPORT: Readonly<Record<string, string>> = {
  amqp: 'rabbitmq',
  sqs: 'aws_sqs',
  kafka: 'kafka',
  redis: 'redis',
};

/** The `messaging.system` value of a transport (`redis`, `rabbitmq`, `aws_sqs`, `kafka`, ...). */
export function messagingSystem(transportName: string): string {
  return SYSTEM_BY_TRANSPORT[transportName] ?? transportName;
}
