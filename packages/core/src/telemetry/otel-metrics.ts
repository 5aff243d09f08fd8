import { InvalidOptionError } from '../errors/transport-errors.js';
import type { Counter, Gauge, Histogram, MetricRegistry } from '../metrics/metric-registry.js';
import {
  CELERY_TASK_NAME,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_OPERATION_NAME,
} from './messaging-attributes.js';
import type { OtelAttributes } from './otel-api.js';
import { TRACER_NAME } from './tracing-options.js';

/*
 * The part of `@opentelemetry/api`'s metrics API the bridge calls, described structurally (as
 * otel-api.ts does for tracing) so that core neither imports the package nor needs its types.
 */

/** An asynchronous instrument (the api's `Observable`); the bridge only hands it back to the meter. */
export type OtelObservable = object;

/** What a batch callback reports through (the api's `BatchObservableResult`). */
export interface OtelBatchObservableResult {
  observe(observable: OtelObservable, value: number, attributes?: OtelAttributes): void;
}

/** A synchronous histogram (the api's `Histogram`). */
export interface OtelHistogram {
  record(value: number, attributes?: OtelAttributes): void;
}

/** Options of an instrument (the api's `MetricOptions`). */
export interface OtelInstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/** A meter (the api's `Meter`): the calls the bridge makes. */
export interface OtelMeter {
  createHistogram(name: string, options?: OtelInstrumentOptions): OtelHistogram;
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
  createObservableGauge(name: string, options?: OtelInstrumentOptions): OtelObservable;
  addBatchObservableCallback(
    callback: (result: OtelBatchObservableResult) => void | Promise<void>,
    observables: OtelObservable[],
  ): void;
  removeBatchObservableCallback(
    callback: (result: OtelBatchObservableResult) => void | Promise<void>,
    observables: OtelObservable[],
  ): void;
}

/** The `@opentelemetry/api` module, or what of its metrics API the bridge calls. */
export interface OtelMetricsApi {
  metrics: { getMeter(name: string, version?: string): OtelMeter };
}

/** Options of {@link exportMetricsToOpenTelemetry}. */
export interface OtelMetricsOptions {
  /**
   * The `@opentelemetry/api` module, for bundles where a dynamic import cannot find it. Default:
   * imported now (an optional peer dependency, never imported without this call).
   */
  api?: OtelMetricsApi;
  /** Meter of the instruments. Default: `api.metrics.getMeter('@conveyor/core')` (the global provider). */
  meter?: OtelMeter;
  /**
   * Added to every data point, e.g. `{ 'messaging.system': 'redis' }` (the registry does not know
   * the broker, and the conventions want it on the messaging metrics).
   */
  attributes?: OtelAttributes;
}

/** What {@link exportMetricsToOpenTelemetry} returns. */
export interface OtelMetricsExport {
  /** Stops reporting (the instruments stay in the meter, with no more data). */
  stop(): void;
}

/** How one registry metric is named in OpenTelemetry. */
interface InstrumentName {
  name: string;
  unit?: string;
  /** `messaging.operation.name` of the messaging conventions' metrics. */
  operation?: string;
}

/**
 * Conveyor's own metrics: the three the messaging semantic conventions define
 * (`messaging.client.sent.messages`, `messaging.client.consumed.messages`,
 * `messaging.process.duration`) take those names; the rest are `conveyor.*`.
 */
const CONVEYOR_INSTRUMENTS: Readonly<Record<string, InstrumentName>> = {
  conveyor_tasks_sent_total: { name: 'messaging.client.sent.messages', unit: '{message}', operation: 'send' },
  conveyor_tasks_received_total: {
    name: 'messaging.client.consumed.messages',
    unit: '{message}',
    operation: 'receive',
  },
  conveyor_task_duration_seconds: { name: 'messaging.process.duration', unit: 's', operation: 'process' },
  conveyor_tasks_succeeded_total: { name: 'conveyor.tasks.succeeded', unit: '{task}' },
  conveyor_tasks_failed_total: { name: 'conveyor.tasks.failed', unit: '{task}' },
  conveyor_tasks_retried_total: { name: 'conveyor.tasks.retried', unit: '{task}' },
  conveyor_tasks_dead_lettered_total: { name: 'conveyor.tasks.dead_lettered', unit: '{message}' },
  conveyor_tasks_revoked_total: { name: 'conveyor.tasks.revoked', unit: '{task}' },
  conveyor_task_latency_seconds: { name: 'conveyor.task.latency', unit: 's' },
  conveyor_tasks_in_flight: { name: 'conveyor.tasks.in_flight', unit: '{message}' },
  conveyor_queue_depth: { name: 'conveyor.queue.depth', unit: '{message}' },
};

/** Registry labels renamed to the attribute names Conveyor's spans use; others become `conveyor.<label>`. */
const ATTRIBUTE_BY_LABEL: Readonly<Record<string, string>> = {
  queue: MESSAGING_DESTINATION_NAME,
  task: CELERY_TASK_NAME,
  outcome: 'conveyor.task.outcome',
  state: 'conveyor.queue.state',
};

/** A metric the registry does not know by name: `_total` dropped, `_seconds` becomes the unit. */
function instrumentName(prometheusName: string): InstrumentName {
  const known = CONVEYOR_INSTRUMENTS[prometheusName];
  if (known !== undefined) return known;
  const name = prometheusName.replace(/_total$/, '');
  return name.endsWith('_seconds') ? { name: name.slice(0, -'_seconds'.length), unit: 's' } : { name };
}

/** The module name, in a variable so that bundlers and TypeScript leave the import to run time. */
const API_MODULE = '@opentelemetry/api';

/**
 * Reports the metrics of `registry` (those of `attachWorkerMetrics` and `attachClientMetrics`, or
 * your own) through OpenTelemetry's metrics API, for applications that export with a
 * MeterProvider instead of serving Prometheus' text. Counters become ObservableCounters and gauges
 * ObservableGauges, read (collectors first, so queue depth and in-flight are fresh) each time the
 * MeterProvider collects; histograms become Histograms that record each observation as it
 * happens, from this call on, with the registry's buckets as advice. Metrics declared in the
 * registry after this call are not reported: attach the worker and client metrics first.
 */
export async function exportMetricsToOpenTelemetry(
  registry: MetricRegistry,
  options: OtelMetricsOptions = {},
): Promise<OtelMetricsExport> {
  const meter = options.meter ?? (await loadApi(options.api)).metrics.getMeter(TRACER_NAME);
  if (typeof meter.createObservableCounter !== 'function' || typeof meter.createHistogram !== 'function') {
    throw new InvalidOptionError('meter', 'must be an OpenTelemetry Meter');
  }
  const common = options.attributes ?? {};
  const attributesOf = (labels: Readonly<Record<string, string>>, operation?: string): OtelAttributes => {
    const attributes: OtelAttributes = { ...common };
    if (operation !== undefined) attributes[MESSAGING_OPERATION_NAME] = operation;
    for (const [label, value] of Object.entries(labels)) {
      // An empty label (a dead-lettered message that could not be decoded has no task) is no attribute.
      if (value !== '') attributes[ATTRIBUTE_BY_LABEL[label] ?? `conveyor.${label}`] = value;
    }
    return attributes;
  };

  const observed: {
    observable: OtelObservable;
    metric: Counter<string> | Gauge<string>;
    operation?: string;
  }[] = [];
  const unsubscribe: (() => void)[] = [];
  for (const metric of registry.metrics()) {
    const { name, unit, operation } = instrumentName(metric.name);
    const instrumentOptions: OtelInstrumentOptions = { description: metric.help, ...(unit && { unit }) };
    if (metric.type === 'histogram') {
      const histogram = meter.createHistogram(name, {
        ...instrumentOptions,
        advice: { explicitBucketBoundaries: [...(metric as Histogram<string>).buckets] },
      });
      unsubscribe.push(
        (metric as Histogram<string>).onObserve((labels, value) => {
          // The observation comes from a worker's event listener: telemetry must never break it.
          try {
            histogram.record(value, attributesOf(labels, operation));
          } catch {}
        }),
      );
    } else {
      const observable =
        metric.type === 'counter'
          ? meter.createObservableCounter(name, instrumentOptions)
          : meter.createObservableGauge(name, instrumentOptions);
      observed.push({ observable, metric, ...(operation && { operation }) });
    }
  }

  const report = async (result: OtelBatchObservableResult): Promise<void> => {
    await registry.collect();
    for (const { observable, metric, operation } of observed) {
      for (const { labels, data } of metric.entries()) {
        result.observe(observable, data.value, attributesOf(labels, operation));
      }
    }
  };
  const observables = observed.map((o) => o.observable);
  if (observables.length > 0) meter.addBatchObservableCallback(report, observables);
  return {
    stop: () => {
      for (const off of unsubscribe.splice(0)) off();
      if (observables.length > 0) meter.removeBatchObservableCallback(report, observables);
    },
  };
}

async function loadApi(api: OtelMetricsApi | undefined): Promise<OtelMetricsApi> {
  if (api !== undefined) {
    if (typeof api.metrics?.getMeter !== 'function') {
      throw new InvalidOptionError('api', 'must be the @opentelemetry/api module');
    }
    return api;
  }
  try {
    return (await import(API_MODULE)) as OtelMetricsApi;
  } catch (error) {
    throw new InvalidOptionError(
      'api',
      `needs the optional peer dependency @opentelemetry/api, which could not be imported (${error instanceof Error ? error.message : String(error)}); install it or pass api or meter`,
    );
  }
}
