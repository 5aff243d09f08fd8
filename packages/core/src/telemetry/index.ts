export type {
  OtelApi,
  OtelContext,
  OtelSpan,
  OtelSpanContext,
  OtelSpanOptions,
  OtelTracer,
} from './otel-api.js';
export { TRACER_NAME, type TracingOption, type TracingOptions } from './tracing-options.js';
