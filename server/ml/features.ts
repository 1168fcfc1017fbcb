import { MlInputError } from './errors';
import { medianInPlace } from './median';
import type { CategoricalSpec } from './spec';
import { categoryOf, columnOf, numberOf } from './table';
import type { Table } from './types';

/**
 * The fitted preprocessing: what each raw feature becomes in the model's input vector. Fitted on the
 * training rows only. Every number is rounded to float32 once here, because the ONNX graph holds
 * float32 and the TypeScript model must score exactly what the exported model scores.
 */
export type NumericFeature = {
  kind: 'numeric';
  name: string;
  type: 'numeric' | 'integer' | 'boolean';
  /** The column's name as the user wrote it, when it differs (scoring clients may send either). */
  header?: string;
  /** Imputed for missing values (logistic regression; trees send missing values down a learned side). */
  median: number;
  /** Standardisation: z = (x - mean) * scale, scale = 1 / population std (1 for a constant column). */
  mean: number;
  scale: number;
  missingInTraining: number;
};

export type CategoricalFeature = {
  kind: 'categorical';
  name: string;
  type: 'categorical' | 'text';
  header?: string;
  /** One one-hot column each, in this order. "" is the missing value's category. */
  categories: string[];
  /** Seen in training but rare (or past the cap): they share one more one-hot column. */
  infrequent: string[];
};

export type FeaturePlan = { numeric: NumericFeature[]; categorical: CategoricalFeature[] };

/** One column of the model's input vector: numeric features first, then each categorical's one-hot block. */
export type ModelColumn = { feature: string; label: string };

export const INFREQUENT_LABEL = '(infrequent)';
export const MISSING_LABEL = '(missing)';

export function planFeatures(table: Table, names: readonly string[], rows: Uint32Array, spec: CategoricalSpec): FeaturePlan {
  const plan: FeaturePlan = { numeric: [], categorical: [] };
  for (const name of names) {
    const { schema, values } = columnOf(table, name);
    const header = schema.header !== undefined && schema.header !== name ? { header: schema.header } : {};
    switch (schema.type) {
      case 'numeric':
      case 'integer':
      case 'boolean': {
        const xs = new Float64Array(rows.length);
        for (let k = 0; k < rows.length; k++) xs[k] = Math.fround(numberOf(values[rows[k]!] ?? null, name, rows[k]!));
        plan.numeric.push({ kind: 'numeric', name, type: schema.type, ...header, ...numericStats(xs) });
        break;
      }
      case 'categorical':
      case 'text':
        plan.categorical.push({ kind: 'categorical', name, type: schema.type, ...header, ...categoryLevels(values, rows, spec) });
        break;
    }
  }
  if (plan.numeric.length + plan.categorical.length === 0) throw new MlInputError('no features to train on', 'features');
  return plan;
}

function numericStats(xs: Float64Array): Omit<NumericFeature, 'kind' | 'name' | 'type'> {
  const present = new Float64Array(xs.length);
  let m = 0;
  for (const x of xs) if (!Number.isNaN(x)) present[m++] = x;
  const missingInTraining = xs.length - m;
  // 0 when the column is all missing (sklearn drops such columns; we keep the input).
  const median = m === 0 ? 0 : medianInPlace(present.subarray(0, m));
  const medianF = Math.fround(median);
  let sum = 0;
  for (const x of xs) sum += Number.isNaN(x) ? medianF : x;
  const mean = sum / xs.length;
  let ss = 0;
  for (const x of xs) {
    const d = (Number.isNaN(x) ? medianF : x) - mean;
    ss += d * d;
  }
  const std = Math.sqrt(ss / xs.length);
  // A constant column keeps scale 1 (as scikit-learn's StandardScaler) instead of dividing by ~0.
  const scale = std > 1e-12 * Math.max(1, Math.abs(mean)) ? 1 / std : 1;
  return { median: medianF, mean: Math.fround(mean), scale: Math.fround(scale), missingInTraining };
}

function categoryLevels(values: Table['columns'][string], rows: Uint32Array, spec: CategoricalSpec) {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const c = categoryOf(values[r]);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const byFrequency = [...counts.entries()].sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
  const kept = byFrequency.filter(([, n]) => n >= spec.minFrequency).slice(0, spec.maxCategories).map(([c]) => c);
  const keptSet = new Set(kept);
  return {
    categories: kept.sort(compareStrings),
    infrequent: byFrequency.map(([c]) => c).filter((c) => !keptSet.has(c)).sort(compareStrings),
  };
}

/** Code-point order, the same in every locale (and the same as Python's sorted()). */
export const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function modelColumns(plan: FeaturePlan): ModelColumn[] {
  const cols: ModelColumn[] = plan.numeric.map((f) => ({ feature: f.name, label: f.name }));
  for (const f of plan.categorical) {
    for (const c of f.categories) cols.push({ feature: f.name, label: `${f.name}=${c === '' ? MISSING_LABEL : c}` });
    if (f.infrequent.length) cols.push({ feature: f.name, label: `${f.name}=${INFREQUENT_LABEL}` });
  }
  return cols;
}

/**
 * Raw features of every row of a table in model terms: numeric values as float32 (NaN = missing)
 * and each categorical value as the index of its one-hot column (-1 for a category never seen in
 * training: all its one-hot columns are 0).
 */
export type EncodedFeatures = { n: number; numeric: Float32Array[]; codes: Int32Array[] };

export function encodeFeatures(table: Table, plan: FeaturePlan, n: number): EncodedFeatures {
  const numeric = plan.numeric.map((f) => {
    const { values } = columnOf(table, f.name);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = numberOf(values[i] ?? null, f.name, i);
    return out;
  });
  const codes = plan.categorical.map((f) => {
    const { values } = columnOf(table, f.name);
    const index = categoryIndex(f);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = index.get(categoryOf(values[i])) ?? -1;
    return out;
  });
  return { n, numeric, codes };
}

/** Category -> one-hot column within the feature's block (infrequent ones share the last column). */
export function categoryIndex(f: CategoricalFeature): Map<string, number> {
  const index = new Map<string, number>(f.categories.map((c, i) => [c, i]));
  for (const c of f.infrequent) index.set(c, f.categories.length);
  return index;
}

export const oneHotWidth = (f: CategoricalFeature) => f.categories.length + (f.infrequent.length ? 1 : 0);

/**
 * Logistic regression's design matrix (row-major, rows x columns): numeric features imputed with the
 * median and standardised, then the one-hot blocks.
 */
export function standardisedMatrix(enc: EncodedFeatures, plan: FeaturePlan, rows: Uint32Array): { X: Float64Array; d: number } {
  const d = modelColumns(plan).length;
  const X = new Float64Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const base = k * d;
    let j = 0;
    for (let f = 0; f < plan.numeric.length; f++, j++) {
      const p = plan.numeric[f]!;
      const x = enc.numeric[f]![r]!;
      X[base + j] = ((Number.isNaN(x) ? p.median : x) - p.mean) * p.scale;
    }
    for (let f = 0; f < plan.categorical.length; f++) {
      const code = enc.codes[f]![r]!;
      if (code >= 0) X[base + j + code] = 1;
      j += oneHotWidth(plan.categorical[f]!);
    }
  }
  return { X, d };
}

/** The raw feature (plan order: numeric, then categorical) of each model column. */
export function featureOfColumn(plan: FeaturePlan): Int32Array {
  const out: number[] = plan.numeric.map((_, f) => f);
  plan.categorical.forEach((c, i) => {
    for (let k = 0; k < oneHotWidth(c); k++) out.push(plan.numeric.length + i);
  });
  return Int32Array.from(out);
}

/** How trees read model column c of a row: a raw numeric value (NaN = missing) or a one-hot 0/1. */
export type ColumnReader = { numeric: Float32Array; codes?: undefined; code?: undefined } | { numeric?: undefined; codes: Int32Array; code: number };

export function columnReaders(enc: EncodedFeatures, plan: FeaturePlan): ColumnReader[] {
  const readers: ColumnReader[] = enc.numeric.map((numeric) => ({ numeric }));
  plan.categorical.forEach((f, i) => {
    for (let code = 0; code < oneHotWidth(f); code++) readers.push({ codes: enc.codes[i]!, code });
  });
  return readers;
}

export function readColumn(reader: ColumnReader, row: number): number {
  return reader.numeric ? reader.numeric[row]! : reader.codes[row] === reader.code ? 1 : 0;
}
