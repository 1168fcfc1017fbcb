import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for the request hot path, exported through the same prom-client registry
 * as every other metric. prom-client's `inc`/`observe` build a label key string, validate the labels
 * and (histograms) make a closure per call; here a label set is resolved once to its series (nested
 * maps by label value, no string built) and an observation is a few additions on plain numbers. The
 * exposition is prom-client's own: `get()` answers in the shapes its Counter and Histogram give the
 * registry (same names, labels, order of series, values), so /metrics reads exactly as before.
 */

/** What prom-client's registry reads from a metric at scrape time (its MetricObjectWithValues). */
type Exported<V> = { name: string; help: string; type: 'counter' | 'histogram'; values: V[]; aggregator: 'sum' };
type CounterValue = { value: number; labels: Record<string, string> };

type Config<L extends string> = { name: string; help: string; labelNames: readonly L[]; registers: Registry[] };

/** Label values, in `labelNames` order, to the series made for them (one level per label). */
class SeriesTree<S> {
  private readonly root = new Map<string, unknown>();
  /** In creation order: the order prom-client exports series in (first use). */
  readonly all: S[] = [];

  constructor(
    private readonly depth: number,
    private readonly make: (values: readonly string[]) => S,
  ) {}

  get(values: readonly string[]): S {
    let level = this.root;
    const last = this.depth - 1;
    for (let i = 0; i < last; i++) {
      const v = values[i]!;
      let next = level.get(v) as Map<string, unknown> | undefined;
      if (!next) level.set(v, (next = new Map()));
      level = next;
    }
    const v = values[last]!;
    let series = level.get(v) as S | undefined;
    if (!series) {
      series = this.make(values);
      level.set(v, series);
      this.all.push(series);
    }
    return series;
  }
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i]!;
  return labels;
}

function valuesOf<L extends string>(names: readonly L[], labels: Record<L, string | number>): string[] {
  const values = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) {
    const v = labels[names[i]!];
    if (v === undefined) throw new Error(`Added label "${names[i]}" is not included in initial labelset`);
    values[i] = String(v);
  }
  return values;
}

function register(metric: object, registers: Registry[]): void {
  for (const r of registers) r.registerMetric(metric as Metric);
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Record<string, string>) {}

  inc(by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new TypeError(`Value is not a valid counter increment: ${by}`);
    this.value += by;
  }
}

/** A counter with labels (every series has every label, as prom-client requires). */
export class FastCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly tree: SeriesTree<CounterSeries>;

  constructor(config: Config<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.tree = new SeriesTree(config.labelNames.length, (values) => new CounterSeries(labelsOf(this.labelNames, values)));
    register(this, config.registers);
  }

  /** The series of these label values (in `labelNames` order); keep it to count without a look-up. */
  labels(...values: string[]): CounterSeries {
    return this.tree.get(values);
  }

  inc(labels: Record<L, string | number>, by = 1): void {
    this.tree.get(valuesOf(this.labelNames, labels)).inc(by);
  }

  get(): Promise<Exported<CounterValue>> {
    const values = this.tree.all.map((s) => ({ value: s.value, labels: s.labels }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

export class HistogramSeries {
  /** Observations per bucket, not cumulative (the last slot: above the largest bound). */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    // The first bound at or above the value, as prom-client finds it (buckets in the order given).
    let i = 0;
    while (i < bounds.length && !(value <= bounds[i]!)) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

type BucketValue = { labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string; exemplar?: null };

/** A histogram with labels; buckets as prom-client's (`le` the upper bound, cumulative, then +Inf). */
export class FastHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly bounds: readonly number[];
  private readonly tree: SeriesTree<HistogramSeries>;

  constructor(config: Config<L> & { buckets: readonly number[] }) {
    if ((config.labelNames as readonly string[]).includes('le')) throw new Error('le is a reserved label keyword');
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.bounds = [...config.buckets];
    this.tree = new SeriesTree(config.labelNames.length, (values) => new HistogramSeries(labelsOf(this.labelNames, values), this.bounds));
    register(this, config.registers);
  }

  labels(...values: string[]): HistogramSeries {
    return this.tree.get(values);
  }

  observe(labels: Record<L, string | number>, value: number): void {
    this.tree.get(valuesOf(this.labelNames, labels)).observe(value);
  }

  /** What the registry formats: bucket lines carry `le`, the series' labels come as shared labels. */
  getForPromString(): Promise<Exported<BucketValue>> {
    const values: BucketValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.tree.all) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** As prom-client's `get()` (JSON): each value's labels are its own and its series' together. */
  async get(): Promise<Exported<Omit<BucketValue, 'sharedLabels'>>> {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return { ...data, values };
  }
}
