/**
 * The part of `@opentelemetry/api` Conveyor uses, described structurally so that core neither
 * imports the package nor needs its types: the real module (any 1.x) is assignable to
 * {@link OtelApi}, and nothing here costs anything when tracing is off.
 */

/** An immutable OpenTelemetry context (the api's `Context`). */
export interface OtelContext {
  getValue(key: symbol): unknown;
  setValue(key: symbol, value: unknown): OtelContext;
  deleteValue(key: symbol): OtelContext;
}

/** Identifies a span across processes (the api's `SpanContext`). */
export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

/** Attribute values Conveyor sets. */
export type OtelAttributes = Record<string, string | number | boolean | undefined>;

/** A started span (the api's `Span`). */
export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): void;
  end(): void;
}

/** Options of `startSpan` Conveyor passes (the api's `SpanOptions`). */
export interface OtelSpanOptions {
  kind?: number;
  attributes?: OtelAttributes;
  links?: { context: OtelSpanContext }[];
}

/** A tracer (the api's `Tracer`): only `startSpan` is used. */
export interface OtelTracer {
  startSpan(name: string, options?: OtelSpanOptions, context?: OtelContext): OtelSpan;
}

/** Reads a carrier's values for `propagation.extract`. */
export interface OtelGetter<Carrier> {
  keys(carrier: Carrier): string[];
  get(carrier: Carrier, key: string): undefined | string | string[];
}

/** Writes a carrier's values for `propagation.inject`. */
export interface OtelSetter<Carrier> {
  set(carrier: Carrier, key: string, value: string): void;
}

/** The `@opentelemetry/api` module, or what of it Conveyor calls. */
export interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    getSpanContext(context: OtelContext): OtelSpanContext | undefined;
  };
  context: {
    active(): OtelContext;
    with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
      context: OtelContext,
      fn: F,
      thisArg?: ThisParameterType<F>,
      ...args: A
    ): ReturnType<F>;
  };
  propagation: {
    inject<Carrier>(context: OtelContext, carrier: Carrier, setter?: OtelSetter<Carrier>): void;
    extract<Carrier>(context: OtelContext, carrier: Carrier, getter?: OtelGetter<Carrier>): OtelContext;
  };
  ROOT_CONTEXT: OtelContext;
}

/** The api's `SpanKind` values (a numeric enum, stable since 1.0). */
export const SPAN_KIND_PRODUCER = 3;
export const SPAN_KIND_CONSUMER = 4;
/** The api's `SpanStatusCode.ERROR`. */
export const SPAN_STATUS_ERROR = 2;
