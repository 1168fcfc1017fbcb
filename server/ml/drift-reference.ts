import { z } from 'zod';
import { chiSquareTest, ksTwoSample, proportions, psi } from './drift-stats';
import { categoryOf } from './table';
import type { CellValue } from './types';

/**
 * A model version's drift reference: a compact profile of its training features and of its
 * predictions on the holdout, stored with the version (model_versions.reference) so that drift
 * needs neither the training data nor the model at comparison time.
 *
 * Numeric features: bins (-inf, e0], (e0, e1], ..., (e_last, inf) cut at the training deciles
 * (repeated edges merged), plus a last bin for missing values; and a quantile sample of the values
 * (1,000 evenly spaced order statistics) for the KS test. Categorical features: the 20 most frequent
 * categories (missing is the category "") and "other". Predictions: ten equal-width bins of the
 * positive class probability.
 */
export const NumericReference = z.object({
  kind: z.literal('numeric'),
  name: z.string(),
  edges: z.array(z.number()),
  /** edges.length + 1 value bins, then the missing bin. */
  proportions: z.array(z.number()),
  sample: z.array(z.number()),
});
export type NumericReference = z.infer<typeof NumericReference>;

export const CategoricalReference = z.object({
  kind: z.literal('categorical'),
  name: z.string(),
  categories: z.array(z.string()),
  /** categories.length proportions, then "other". */
  proportions: z.array(z.number()),
});
export type CategoricalReference = z.infer<typeof CategoricalReference>;

export const FeatureReference = z.discriminatedUnion('kind', [NumericReference, CategoricalReference]);
export type FeatureReference = z.infer<typeof FeatureReference>;

export const DriftReference = z.object({
  version: z.literal(1),
  /** Rows profiled (training rows for features). */
  rows: z.number().int(),
  features: z.array(FeatureReference),
  /** The holdout's positive class probabilities; null when they are not known. */
  prediction: NumericReference.nullable(),
});
export type DriftReference = z.infer<typeof DriftReference>;

export const TOP_CATEGORIES = 20;
export const SAMPLE_SIZE = 1_000;
export const PREDICTION_EDGES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
export const OTHER_CATEGORY = '(other)';

/** A record field or cell as a number: NaN when missing or not a number. */
export function numericValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const lower = v.trim().toLowerCase();
    if (lower === 'true' || lower === 't') return 1;
    if (lower === 'false' || lower === 'f') return 0;
    return Number(v);
  }
  return NaN;
}

export const categoricalValue = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : categoryOf((v ?? null) as CellValue));

/** The bin of a value: the number of edges below it, or edges.length + 1 for a missing value. */
export function binOf(edges: readonly number[], x: number): number {
  if (Number.isNaN(x)) return edges.length + 1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function binCounts(edges: readonly number[], xs: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (const x of xs) counts[binOf(edges, x)]!++;
  return counts;
}

function quantileOfSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function numericReference(name: string, xs: readonly number[], fixedEdges?: readonly number[]): NumericReference {
  const present = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const edges = fixedEdges
    ? [...fixedEdges]
    : present.length === 0
      ? []
      : [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => quantileOfSorted(present, q)))];
  const k = Math.min(SAMPLE_SIZE, present.length);
  const sample = Array.from({ length: k }, (_, i) => present[k === 1 ? 0 : Math.round((i * (present.length - 1)) / (k - 1))]!);
  return { kind: 'numeric', name, edges, proportions: proportions(binCounts(edges, xs)), sample };
}

export function categoricalReference(name: string, values: readonly string[]): CategoricalReference {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP_CATEGORIES);
  const kept = top.map(([c]) => c);
  const other = values.length - top.reduce((s, [, n]) => s + n, 0);
  return { kind: 'categorical', name, categories: kept, proportions: proportions([...top.map(([, n]) => n), other]) };
}

export type FeatureKind = { name: string; kind: 'numeric' | 'categorical' };

/**
 * The profile of `features` over the given rows of columns (every row when `rows` is omitted), and
 * of the holdout probabilities when given.
 */
export function buildDriftReference(
  columns: Record<string, readonly unknown[]>,
  features: readonly FeatureKind[],
  rows: ArrayLike<number> | null,
  holdoutProbabilities: ArrayLike<number> | null,
): DriftReference {
  const pick = (values: readonly unknown[]) => (rows ? Array.from(rows, (r) => values[r]) : values);
  let n = 0;
  const out = features.map((f): FeatureReference => {
    const values = pick(columns[f.name] ?? []);
    n = values.length;
    return f.kind === 'numeric' ? numericReference(f.name, values.map(numericValue)) : categoricalReference(f.name, values.map(categoricalValue));
  });
  return { version: 1, rows: n, features: out, prediction: holdoutProbabilities ? numericReference('prediction', Array.from(holdoutProbabilities), PREDICTION_EDGES) : null };
}

export type FeatureDrift = {
  feature: string;
  kind: 'numeric' | 'categorical';
  psi: number;
  test: 'ks' | 'chi_square';
  statistic: number;
  pValue: number;
  /** Current proportions per reference bin (same order as the reference's). */
  current: number[];
};

/** Drift of one feature: current values (raw record fields) against its reference. */
export function featureDrift(ref: FeatureReference, values: readonly unknown[]): FeatureDrift {
  if (ref.kind === 'numeric') {
    const xs = values.map(numericValue);
    const current = proportions(binCounts(ref.edges, xs));
    const ks = ksTwoSample(ref.sample, xs);
    return { feature: ref.name, kind: 'numeric', psi: psi(ref.proportions, current), test: 'ks', statistic: ks.statistic, pValue: ks.pValue, current };
  }
  const index = new Map(ref.categories.map((c, i) => [c, i]));
  const counts = new Array<number>(ref.categories.length + 1).fill(0);
  for (const v of values) counts[index.get(categoricalValue(v)) ?? ref.categories.length]!++;
  const chi = chiSquareTest(counts, ref.proportions);
  const current = proportions(counts);
  return { feature: ref.name, kind: 'categorical', psi: psi(ref.proportions, current), test: 'chi_square', statistic: chi.statistic, pValue: chi.pValue, current };
}

/** PSI of the current probabilities' histogram against the reference's. */
export function predictionDrift(ref: NumericReference, probabilities: readonly number[]): number {
  return psi(ref.proportions, proportions(binCounts(ref.edges, probabilities)));
}

/** The reference of a trained model: its features over the training rows, its holdout probabilities. */
export function trainedReference(table: { columns: Record<string, readonly unknown[]> }, trained: { model: { features: { numeric: { name: string }[]; categorical: { name: string }[] } }; split: { train: Uint32Array }; fittedRows?: Uint32Array; holdoutProbabilities: Float64Array }): DriftReference {
  const features: FeatureKind[] = [
    ...trained.model.features.numeric.map((f) => ({ name: f.name, kind: 'numeric' as const })),
    ...trained.model.features.categorical.map((f) => ({ name: f.name, kind: 'categorical' as const })),
  ];
  return buildDriftReference(table.columns, features, trained.fittedRows ?? trained.split.train, trained.holdoutProbabilities);
}
