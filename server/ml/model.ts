import { algorithmOf, type Estimator } from './algorithms';
import { type EncodedFeatures, type FeaturePlan, type ModelColumn, encodeFeatures } from './features';
import type { Algorithm } from './spec';
import type { Table, Target } from './types';

export type { BoostedTreesEstimator, LogisticRegressionEstimator } from './algorithms';

/**
 * A trained model: preprocessing plus estimator, every parameter a float32 value. The ONNX export
 * holds exactly these numbers, so `predictProba` here and onnxruntime agree to float rounding.
 */
export type Model = {
  algorithm: Algorithm;
  target: Target;
  features: FeaturePlan;
  columns: ModelColumn[];
  estimator: Estimator;
};

/** Probability of the positive class for every row of a table holding the model's feature columns. */
export function predictProba(model: Model, table: Table): Float64Array {
  const n = table.columns[model.features.numeric[0]?.name ?? model.features.categorical[0]!.name]!.length;
  const enc = encodeFeatures(table, model.features, n);
  return predictEncoded(model, enc, Uint32Array.from({ length: n }, (_, i) => i));
}

export function predictEncoded(model: Model, enc: EncodedFeatures, rows: Uint32Array): Float64Array {
  return algorithmOf(model.estimator.kind).predict(model.estimator, model.features, enc, rows);
}
