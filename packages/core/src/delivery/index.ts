export {
  DEAD_LETTER_CONTENT_ENCODING_HEADER,
  DEAD_LETTER_CONTENT_TYPE_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
  DEAD_LETTERED_AT_HEADER,
  type DeadLetterSource,
  deadLetterMessage,
} from './dead-letter-message.js';
export type { DeliveryPort, Settlement } from './delivery-port.js';
export { handToHandler } from './hand-to-handler.js';
export { HeldDeliveries, type HeldDelivery } from './held-deliveries.js';
export { PrefetchWindow } from './prefetch-window.js';
export {
  type DeliveryState,
  TransportDelivery,
  type TransportDeliveryInit,
  withCarriedCount,
} from './transport-delivery.js';
