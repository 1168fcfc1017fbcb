import { expectedValue, treeShap } from '../explain/tree-shap';
import { columnReaders, featureOfColumn, readColumn } from '../features';
import { type BoostedTrees, boostedScore, fitBoostedTrees } from '../gbt/boosting';
import { sigmoid } from '../logistic-regression';
import type { GradientBoostedTreesParams } from '../spec';
import type { ModelAlgorithm } from './types';

export type BoostedTreesEstimator = { kind: 'gradient_boosted_trees' } & BoostedTrees;

export const gradientBoostedTrees: ModelAlgorithm<'gradient_boosted_trees', GradientBoostedTreesParams, BoostedTreesEstimator> = {
  name: 'gradient_boosted_trees',
  label: 'Gradient-boosted trees',
  async fit({ enc, plan, rows, y, split, params, seed, pace, onProgress }) {
    const boosted = await fitBoostedTrees(columnReaders(enc, plan), rows, y, split.train, params, seed, { pace, onProgress });
    return { estimator: { kind: 'gradient_boosted_trees', ...boosted }, iterations: boosted.trees.length, converged: true, earlyStopped: boosted.earlyStopped };
  },
  predict(est, features, enc, rows) {
    const readers = columnReaders(enc, features);
    const out = new Float64Array(rows.length);
    rows.forEach((r, k) => {
      out[k] = sigmoid(boostedScore(est, (c) => readColumn(readers[c]!, r)));
    });
    return out;
  },
  // TreeSHAP per tree over raw features (a one-hot block is one feature); baseline the expected margin.
  explain(est, features, enc, row) {
    const readers = columnReaders(enc, features);
    const groups = featureOfColumn(features);
    const contributions = new Float64Array(features.numeric.length + features.categorical.length);
    let baseline = est.baseScore;
    for (const tree of est.trees) {
      baseline += expectedValue(tree);
      treeShap(tree, (c) => readColumn(readers[c]!, row), (c) => groups[c]!, contributions);
    }
    return { baseline, contributions };
  },
  // Total split gain per column.
  importance(est, columns) {
    const perColumn = new Float64Array(columns.length);
    for (const tree of est.trees) tree.feature.forEach((f, node) => f >= 0 && (perColumn[f]! += tree.gain[node]!));
    return perColumn;
  },
};
