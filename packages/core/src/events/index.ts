export {
  CELERY_EVENT_EXCHANGE,
  type CeleryEvent,
  type CeleryEventType,
  celeryUtcOffset,
  encodeCeleryEvent,
  eventRoutingKey,
} from './celery-event.js';
export { sendTaskSentEvents, type TaskSentEventsOptions } from './client-celery-events.js';
export { CeleryEventDispatcher, type CeleryEventDispatcherOptions } from './event-dispatcher.js';
export {
  CONVEYOR_SOFTWARE_INFO,
  type EventSource,
  WorkerCeleryEvents,
  type WorkerCeleryEventsOptions,
} from './worker-celery-events.js';
