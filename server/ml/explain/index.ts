import { algorithmOf } from '../algorithms';
import { type EncodedFeatures, encodeFeatures } from '../features';
import type { Model } from '../model';
import type { Table } from '../types';

export { modelFromJson, modelToJson, MODEL_METADATA_KEY } from './model-json';

export type FeatureContribution = { feature: string; contribution: number };

/**
 * One row's explanation in log-odds: `baseline + sum of contributions = margin`, and the model's
 * probability is sigmoid(margin). Contributions are per raw feature, largest |contribution| first.
 */
export type Explanation = { baseline: number; margin: number; contributions: FeatureContribution[] };

/** Explanations of every row of a table holding the model's feature columns. */
export function explainTable(model: Model, table: Table, n: number): Explanation[] {
  return explainEncoded(model, encodeFeatures(table, model.features, n), Uint32Array.from({ length: n }, (_, i) => i));
}

export function explainEncoded(model: Model, enc: EncodedFeatures, rows: Uint32Array): Explanation[] {
  const names = [...model.features.numeric, ...model.features.categorical].map((f) => f.name);
  const algorithm = algorithmOf(model.estimator.kind);
  return Array.from(rows, (row) => {
    const { baseline, contributions } = algorithm.explain(model.estimator, model.features, enc, row);
    let margin = baseline;
    for (const c of contributions) margin += c;
    const list = names.map((feature, f) => ({ feature, contribution: contributions[f]! }));
    list.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    return { baseline, margin, contributions: list };
  });
}

export type GlobalImportance = { feature: string; meanAbsContribution: number };

/** Mean |contribution| per feature over explained rows, largest first: the model's global importance. */
export function globalImportance(explanations: readonly Explanation[]): GlobalImportance[] {
  const sums = new Map<string, number>();
  for (const e of explanations) for (const c of e.contributions) sums.set(c.feature, (sums.get(c.feature) ?? 0) + Math.abs(c.contribution));
  const n = Math.max(1, explanations.length);
  return [...sums.entries()].map(([feature, s]) => ({ feature, meanAbsContribution: s / n })).sort((a, b) => b.meanAbsContribution - a.meanAbsContribution);
}
