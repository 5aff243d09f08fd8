import { InvalidOptionError } from '../errors/transport-errors.js';
import { escapeHelp, formatLabels, formatValue, isLabelName, isMetricName } from './prometheus-text.js';

/** What every metric is declared with. */
export interface MetricOptions<Label extends string> {
  /** Metric name, e.g. `conveyor_tasks_received_total`. */
  name: string;
  /** One line in the HELP comment. */
  help: string;
  /** Label names, in the order values are passed. */
  labelNames?: readonly Label[];
}

/** Options of a histogram. */
export interface HistogramOptions<Label extends string> extends MetricOptions<Label> {
  /** Upper bounds of the buckets, increasing; `+Inf` is added. Default {@link DEFAULT_SECONDS_BUCKETS}. */
  buckets?: readonly number[];
}

/** Label values by label name. */
export type Labels<Label extends string> = { readonly [K in Label]: string };

/** Buckets for durations in seconds: 5 ms to 5 minutes. */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

type MetricType = 'counter' | 'gauge' | 'histogram';

/** Code that refreshes gauges just before each scrape (a queue depth read from the broker, say). */
export type Collector = () => void | Promise<void>;

abstract class Metric<Label extends string, Series> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly Label[];
  abstract readonly type: MetricType;
  protected readonly series = new Map<string, { values: string[]; data: Series }>();

  constructor(options: MetricOptions<Label>) {
    if (!isMetricName(options.name)) {
      throw new InvalidOptionError('name', `not a Prometheus metric name: ${JSON.stringify(options.name)}`);
    }
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      if (!isLabelName(label)) {
        throw new InvalidOptionError('labelNames', `not a Prometheus label name: ${JSON.stringify(label)}`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new InvalidOptionError('labelNames', `a label is listed twice in ${options.name}`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labelNames;
  }

  /** Every series with its label values by name (read by the OpenTelemetry metrics bridge). */
  entries(): { labels: Labels<Label>; data: Series }[] {
    return [...this.series.values()].map(({ values, data }) => ({
      labels: Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!])) as Labels<Label>,
      data,
    }));
  }

  /** Forgets every series (a gauge whose label sets change between scrapes starts over). */
  reset(): void {
    this.series.clear();
  }

  protected seriesFor(labels: Labels<Label> | undefined, create: () => Series): Series {
    const values = this.labelNames.map((name) => {
      const value = labels?.[name];
      if (typeof value !== 'string') {
        throw new InvalidOptionError('labels', `${this.name} needs a string value for label "${name}"`);
      }
      return value;
    });
    // NUL cannot appear in a label value worth keeping apart, so it separates them unambiguously.
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { values, data: create() };
      this.series.set(key, entry);
    }
    return entry.data;
  }

  /** The HELP and TYPE lines then the samples. */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, data } of this.series.values()) this.renderSeries(lines, values, data);
    return lines.join('\n');
  }

  protected abstract renderSeries(lines: string[], values: readonly string[], data: Series): void;
}

/** A value that only goes up (resets when the process restarts). */
export class Counter<Label extends string = never> extends Metric<Label, { value: number }> {
  readonly type = 'counter';

  inc(labels?: Labels<Label>, by = 1): void {
    if (!(by >= 0)) throw new InvalidOptionError('by', `a counter only goes up, got ${by}`);
    this.seriesFor(labels, () => ({ value: 0 })).value += by;
  }

  /** The current value of one series (0 when it was never incremented). */
  get(labels?: Labels<Label>): number {
    return this.seriesFor(labels, () => ({ value: 0 })).value;
  }

  protected renderSeries(lines: string[], values: readonly string[], data: { value: number }): void {
    lines.push(`${this.name}${formatLabels(this.labelNames, values)} ${formatValue(data.value)}`);
  }
}

/** A value that goes up and down. */
export class Gauge<Label extends string = never> extends Metric<Label, { value: number }> {
  readonly type = 'gauge';

  set(labels: Labels<Label> | undefined, value: number): void {
    this.seriesFor(labels, () => ({ value: 0 })).value = value;
  }

  protected renderSeries(lines: string[], values: readonly string[], data: { value: number }): void {
    lines.push(`${this.name}${formatLabels(this.labelNames, values)} ${formatValue(data.value)}`);
  }
}

/** Told of each observation as it happens (the OpenTelemetry bridge records it into its own histogram). */
export type ObservationListener<Label extends string> = (labels: Labels<Label>, value: number) => void;

interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram<Label extends string = never> extends Metric<Label, HistogramSeries> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  readonly #listeners = new Set<ObservationListener<Label>>();

  constructor(options: HistogramOptions<Label>) {
    super(options);
    if ((options.labelNames ?? []).includes('le' as Label)) {
      throw new InvalidOptionError('labelNames', 'a histogram cannot have a label named "le"');
    }
    const buckets = [...(options.buckets ?? DEFAULT_SECONDS_BUCKETS)];
    if (buckets.at(-1) === Number.POSITIVE_INFINITY) buckets.pop();
    if (
      buckets.length === 0 ||
      buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))
    ) {
      throw new InvalidOptionError('buckets', 'must be finite, increasing numbers (at least one)');
    }
    this.buckets = buckets;
  }

  observe(labels: Labels<Label> | undefined, value: number): void {
    if (Number.isNaN(value)) return;
    const series = this.seriesFor(labels, () => ({
      counts: new Array<number>(this.buckets.length + 1).fill(0),
      sum: 0,
      count: 0,
    }));
    let index = this.buckets.findIndex((bound) => value <= bound);
    if (index === -1) index = this.buckets.length;
    series.counts[index]! += 1;
    series.sum += value;
    series.count += 1;
    for (const listener of this.#listeners) listener((labels ?? {}) as Labels<Label>, value);
  }

  /** Calls `listener` after each observation; returns a function that removes it. */
  onObserve(listener: ObservationListener<Label>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  protected renderSeries(lines: string[], values: readonly string[], data: HistogramSeries): void {
    const names = [...this.labelNames, 'le'];
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += data.counts[i]!;
      const le = i < this.buckets.length ? formatValue(this.buckets[i]!) : '+Inf';
      lines.push(`${this.name}_bucket${formatLabels(names, [...values, le])} ${cumulative}`);
    }
    const labels = formatLabels(this.labelNames, values);
    lines.push(`${this.name}_sum${labels} ${formatValue(data.sum)}`);
    lines.push(`${this.name}_count${labels} ${data.count}`);
  }
}

/**
 * A set of metrics rendered together in Prometheus' text format. It depends on nothing: the CLI
 * serves it over HTTP (`conveyor worker --metrics`), an application can serve `render()` from its
 * own server.
 */
export class MetricRegistry {
  readonly #metrics = new Map<string, Metric<string, unknown>>();
  readonly #collectors = new Set<Collector>();

  counter<Label extends string = never>(options: MetricOptions<Label>): Counter<Label> {
    return this.#add(new Counter<Label>(options));
  }

  gauge<Label extends string = never>(options: MetricOptions<Label>): Gauge<Label> {
    return this.#add(new Gauge<Label>(options));
  }

  histogram<Label extends string = never>(options: HistogramOptions<Label>): Histogram<Label> {
    return this.#add(new Histogram<Label>(options));
  }

  /** Runs `collector` before each render; returns a function that removes it. */
  onCollect(collector: Collector): () => void {
    this.#collectors.add(collector);
    return () => this.#collectors.delete(collector);
  }

  /**
   * Every metric in the text exposition format 0.0.4, after running the collectors. A collector
   * that fails leaves its gauges as they were: one broken source must not blank the whole scrape.
   */
  async render(): Promise<string> {
    await this.collect();
    const blocks = [...this.#metrics.values()].map((metric) => metric.render());
    return blocks.length === 0 ? '' : `${blocks.join('\n')}\n`;
  }

  /** Runs the collectors (gauges read at collection time), each failure ignored as in {@link render}. */
  async collect(): Promise<void> {
    await Promise.allSettled([...this.#collectors].map(async (collect) => collect()));
  }

  /** The metrics declared so far, in declaration order. */
  metrics(): (Counter<string> | Gauge<string> | Histogram<string>)[] {
    return [...this.#metrics.values()] as (Counter<string> | Gauge<string> | Histogram<string>)[];
  }

  #add<M extends Metric<string, unknown>>(metric: M): M {
    const clash = [...this.#metrics.keys()].find((name) => collides(name, metric.name));
    if (clash !== undefined) {
      throw new InvalidOptionError('name', `metric ${metric.name} clashes with ${clash} in this registry`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

/** Same name, or one is a histogram's `_bucket`/`_sum`/`_count` series of the other. */
function collides(a: string, b: string): boolean {
  if (a === b) return true;
  const suffixes = ['_bucket', '_sum', '_count'];
  return suffixes.some((suffix) => a === `${b}${suffix}` || b === `${a}${suffix}`);
}
