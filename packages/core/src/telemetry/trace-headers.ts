import type { JsonValue } from '../message/json-value.js';
import type { OtelGetter, OtelSetter } from './otel-api.js';

/**
 * Trace context travels as ordinary task-message headers (W3C `traceparent`, `tracestate`, or
 * whatever propagator is registered), beside Celery's own: exactly where
 * opentelemetry-instrumentation-celery injects it (`before_task_publish` headers) and reads it
 * back (`task.request`), so traces continue across Python and Node producers and workers, and
 * every transport carries them since it carries the headers.
 */
export const headersSetter: OtelSetter<Record<string, JsonValue>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** Reads string headers only: a propagator never wrote anything else. */
export const headersGetter: OtelGetter<Readonly<Record<string, JsonValue>>> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    const value = Object.hasOwn(carrier, key) ? carrier[key] : undefined;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    return undefined;
  },
};
