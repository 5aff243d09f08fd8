export {
  type Collector,
  Counter,
  DEFAULT_SECONDS_BUCKETS,
  Gauge,
  Histogram,
  type HistogramOptions,
  type Labels,
  type MetricOptions,
  MetricRegistry,
  type ObservationListener,
} from './metric-registry.js';
export { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
export { SENT_AT_HEADER } from './sent-at-header.js';
export {
  attachClientMetrics,
  attachWorkerMetrics,
  type WorkerMetrics,
  type WorkerMetricsOptions,
} from './worker-metrics.js';
