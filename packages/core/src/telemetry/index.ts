export type {
  OtelApi,
  OtelContext,
  OtelSpan,
  OtelSpanContext,
  OtelSpanOptions,
  OtelTracer,
} from './otel-api.js';
export {
  exportMetricsToOpenTelemetry,
  type OtelBatchObservableResult,
  type OtelHistogram,
  type OtelInstrumentOptions,
  type OtelMeter,
  type OtelMetricsApi,
  type OtelMetricsExport,
  type OtelMetricsOptions,
  type OtelObservable,
} from './otel-metrics.js';
export { TRACER_NAME, type TracingOption, type TracingOptions } from './tracing-options.js';
