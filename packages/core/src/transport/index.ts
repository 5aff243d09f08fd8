export {
  type TransportCapabilities,
  type CapabilitiesInput,
  type DelayMode,
  type OrderingScope,
  type RedeliveryTrigger,
  defineCapabilities,
} from './capabilities.js';
export type {
  Transport,
  PublishOptions,
  PublishEntry,
  QueueSpec,
  ConsumeOptions,
  DeliveryHandler,
  QueueDepth,
  HealthStatus,
} from './transport.js';
export {
  type Delivery,
  type NackOptions,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  RAW_CONTENT_TYPE,
} from './delivery.js';
export { checkPublish, checkPriority, checkDelay, checkPrefetch } from './publish-checks.js';
export { invokeHandler } from './invoke-handler.js';
export { type TransportModule, TRANSPORT_PACKAGES, brokerScheme, transportFromUrl } from './transport-url.js';
