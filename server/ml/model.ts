import {
  type EncodedFeatures,
  type FeaturePlan,
  type ModelColumn,
  columnReaders,
  encodeFeatures,
  oneHotWidth,
  readColumn,
} from './features';
import { type BoostedTrees, boostedScore } from './gbt/boosting';
import { sigmoid } from './logistic-regression';
import type { Algorithm } from './spec';
import type { Table, Target } from './types';

export type LogisticRegressionEstimator = {
  kind: 'logistic_regression';
  /** One per model column, on standardised numeric features and 0/1 one-hot columns (float32 values). */
  coef: number[];
  intercept: number;
};
export type BoostedTreesEstimator = { kind: 'gradient_boosted_trees' } & BoostedTrees;

/**
 * A trained model: preprocessing plus estimator, every parameter a float32 value. The ONNX export
 * holds exactly these numbers, so `predictProba` here and onnxruntime agree to float rounding.
 */
export type Model = {
  algorithm: Algorithm;
  target: Target;
  features: FeaturePlan;
  columns: ModelColumn[];
  estimator: LogisticRegressionEstimator | BoostedTreesEstimator;
};

/** Probability of the positive class for every row of a table holding the model's feature columns. */
export function predictProba(model: Model, table: Table): Float64Array {
  const n = table.columns[model.features.numeric[0]?.name ?? model.features.categorical[0]!.name]!.length;
  const enc = encodeFeatures(table, model.features, n);
  return predictEncoded(model, enc, Uint32Array.from({ length: n }, (_, i) => i));
}

export function predictEncoded(model: Model, enc: EncodedFeatures, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  const est = model.estimator;
  if (est.kind === 'logistic_regression') {
    const { numeric, categorical } = model.features;
    rows.forEach((r, k) => {
      let z = est.intercept;
      let j = 0;
      for (let f = 0; f < numeric.length; f++, j++) {
        const p = numeric[f]!;
        const x = enc.numeric[f]![r]!;
        z += est.coef[j]! * ((Number.isNaN(x) ? p.median : x) - p.mean) * p.scale;
      }
      for (let f = 0; f < categorical.length; f++) {
        const code = enc.codes[f]![r]!;
        if (code >= 0) z += est.coef[j + code]!;
        j += oneHotWidth(categorical[f]!);
      }
      out[k] = sigmoid(z);
    });
    return out;
  }
  const readers = columnReaders(enc, model.features);
  rows.forEach((r, k) => {
    out[k] = sigmoid(boostedScore(est, (c) => readColumn(readers[c]!, r)));
  });
  return out;
}
