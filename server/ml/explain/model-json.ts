import type { Model } from '../model';

/**
 * A trained model as JSON, kept in its ONNX file's metadata so explanations can be computed
 * wherever the file goes (registry, bundles, another Stagebook). JSON has no Infinity: a tree
 * threshold of Infinity (the split that separates missing values) is written as null.
 */
export const MODEL_METADATA_KEY = 'stagebook.model';

export function modelToJson(model: Model): string {
  if (model.estimator.kind !== 'gradient_boosted_trees') return JSON.stringify(model);
  const trees = model.estimator.trees.map(({ gain: _gain, ...t }) => ({ ...t, threshold: t.threshold.map((x) => (x === Infinity ? null : x)) }));
  return JSON.stringify({ ...model, estimator: { ...model.estimator, trees } });
}

export function modelFromJson(json: string): Model {
  const model = JSON.parse(json) as Model;
  if (model.estimator.kind === 'gradient_boosted_trees') {
    for (const t of model.estimator.trees) {
      t.threshold = t.threshold.map((x) => (x === null ? Infinity : x));
      t.gain ??= t.feature.map(() => 0);
    }
  }
  return model;
}
