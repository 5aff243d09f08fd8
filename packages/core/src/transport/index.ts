export type {
  Broadcast,
  BroadcastExchange,
  BroadcastHandler,
  BroadcastMessage,
  BroadcastSubscribeOptions,
  ExchangeKind,
} from './broadcast.js';
export {
  type CapabilitiesInput,
  type DelayMode,
  defineCapabilities,
  type OrderingScope,
  type RedeliveryTrigger,
  type TransportCapabilities,
} from './capabilities.js';
export {
  CARRIED_DELIVERY_COUNT_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type Delivery,
  MAX_VISIBILITY_EXTENSION_MS,
  type NackOptions,
  RAW_CONTENT_TYPE,
} from './delivery.js';
export { checkHealth } from './health-check.js';
export { invokeHandler } from './invoke-handler.js';
export { onAbort } from './on-abort.js';
export { printedWithoutSecrets, SECRET_OPTION_KEYS } from './printed-without-secrets.js';
export { checkDelay, checkPrefetch, checkPriority, checkPublish } from './publish-checks.js';
export { describeTlsFailure, type TlsOptionNames } from './tls-failure.js';
export {
  checkTlsOptions,
  isTlsUrlParameter,
  TLS_URL_PARAMETERS,
  type TlsUrlParameter,
  tlsFromUrlParameters,
} from './tls-options.js';
export type {
  ConsumeOptions,
  DeliveryHandler,
  HealthStatus,
  PublishEntry,
  PublishOptions,
  QueueDepth,
  QueueSpec,
  Transport,
} from './transport.js';
export {
  brokerScheme,
  registeredSchemes,
  registerTransport,
  TRANSPORT_PACKAGES,
  type TransportFactory,
  type TransportModule,
  transportFromUrl,
  unregisterTransport,
} from './transport-url.js';
