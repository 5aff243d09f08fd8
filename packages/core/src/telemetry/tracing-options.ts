import { InvalidOptionError } from '../errors/transport-errors.js';
import type { OtelApi, OtelTracer } from './otel-api.js';

/**
 * Tracing of a Client or Worker (docs/observability.md). `true` loads `@opentelemetry/api` (an
 * optional peer dependency) with a dynamic import the first time it is needed and traces with the
 * globally registered tracer provider; without the option core never imports it.
 */
export type TracingOption = boolean | TracingOptions;

/** Explicit tracing settings. */
export interface TracingOptions {
  /**
   * The `@opentelemetry/api` module (`import * as api from '@opentelemetry/api'`), for bundles
   * where a dynamic import cannot find it. Default: imported on first use.
   */
  api?: OtelApi;
  /** Tracer of the spans. Default: `api.trace.getTracer('@conveyor/core')` (the global provider). */
  tracer?: OtelTracer;
}

/** What a traced Client or Worker uses, once loaded. */
export interface ResolvedTracing {
  readonly api: OtelApi;
  readonly tracer: OtelTracer;
}

/** The instrumentation scope name of Conveyor's spans. */
export const TRACER_NAME = '@conveyor/core';

/** Checks the option synchronously (typed errors at construction); undefined when tracing is off. */
export function checkTracingOption(value: unknown): TracingOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('tracing', `must be a boolean or { api?, tracer? }, got ${typeof value}`);
  }
  const options = value as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (key !== 'api' && key !== 'tracer') throw new InvalidOptionError(`tracing.${key}`, 'unknown option');
  }
  const api = options.api as Partial<OtelApi> | undefined;
  if (
    api !== undefined &&
    (typeof api.propagation?.inject !== 'function' || typeof api.trace?.setSpan !== 'function')
  ) {
    throw new InvalidOptionError('tracing.api', 'must be the @opentelemetry/api module');
  }
  const tracer = options.tracer as Partial<OtelTracer> | undefined;
  if (tracer !== undefined && typeof tracer.startSpan !== 'function') {
    throw new InvalidOptionError('tracing.tracer', 'must be an OpenTelemetry Tracer');
  }
  return options as TracingOptions;
}

/** The module name, in a variable so that bundlers and TypeScript leave the import to run time. */
const API_MODULE = '@opentelemetry/api';

/** Loads the api (only now, when tracing was asked for) and picks the tracer. */
export async function resolveTracing(options: TracingOptions): Promise<ResolvedTracing> {
  let api = options.api;
  if (api === undefined) {
    try {
      api = (await import(API_MODULE)) as OtelApi;
    } catch (error) {
      throw new InvalidOptionError(
        'tracing',
        `needs the optional peer dependency @opentelemetry/api, which could not be imported (${error instanceof Error ? error.message : String(error)}); install it or pass tracing.api`,
      );
    }
  }
  return { api, tracer: options.tracer ?? api.trace.getTracer(TRACER_NAME) };
}
