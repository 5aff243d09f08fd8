/**
 * @conveyor/core, for applications: define tasks, send them (Client), run them (Worker), read
 * results, open a transport from a URL, and the embedded MemoryTransport. Celery task protocol v2
 * on the wire, typed errors, zero runtime dependencies.
 *
 * Writing a transport for another broker? Import `@conveyor/core/transport`: the contract, the
 * shared delivery layer, the publish checks, the kombu envelope and the message codec.
 */

// Celery's remote control (celery inspect, celery control revoke) over a transport's broadcast.
export * from './control/index.js';
// Celery's event protocol (worker-online, task-received, ...) over a transport's broadcast.
// Dead-letter tooling (list, show, redrive, purge) over the Transport contract: the CLI's
// `conveyor dlq` and the dashboard share it.
export * from './dead-letters/index.js';
export {
  DEAD_LETTER_CONTENT_ENCODING_HEADER,
  DEAD_LETTER_CONTENT_TYPE_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
  DEAD_LETTERED_AT_HEADER,
} from './delivery/dead-letter-message.js';
export * from './errors/index.js';
export * from './events/index.js';
export { MEMORY_PRIORITY_LEVELS, MemoryBroker } from './memory/memory-broker.js';
export { MemoryTransport, type MemoryTransportOptions } from './memory/memory-transport.js';
export { formatCeleryDate, formatNaiveCeleryDate, parseCeleryDate } from './message/celery-date.js';
export {
  type Codec,
  CodecRegistry,
  defaultCodecs,
  jsonCodec,
  registerCodec,
} from './message/codec-registry.js';
export type { JsonValue } from './message/json-value.js';
export type { TaskEmbed, TaskMessage } from './message/task-message.js';
export type { WireMessage, WireProperties } from './message/wire-message.js';
// Prometheus metrics of workers and clients (`conveyor worker --metrics` serves them).
export * from './metrics/index.js';
export * from './results/index.js';
export * from './runtime/index.js';
export * from './signing/index.js';
export * from './telemetry/index.js';
export type {
  CapabilitiesInput,
  DelayMode,
  OrderingScope,
  RedeliveryTrigger,
  TransportCapabilities,
} from './transport/capabilities.js';
export {
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type Delivery,
  type NackOptions,
  RAW_CONTENT_TYPE,
} from './transport/delivery.js';
export type {
  ConsumeOptions,
  DeliveryHandler,
  HealthStatus,
  PublishEntry,
  PublishOptions,
  QueueDepth,
  QueueSpec,
  Transport,
} from './transport/transport.js';
export {
  brokerScheme,
  registeredSchemes,
  registerTransport,
  TRANSPORT_PACKAGES,
  type TransportFactory,
  type TransportModule,
  transportFromUrl,
  unregisterTransport,
} from './transport/transport-url.js';
