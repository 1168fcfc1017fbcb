import { MlInputError } from '../errors';
import { expectedValue, treeShap } from '../explain/tree-shap';
import { type EncodedFeatures, type FeaturePlan, columnReaders, featureOfColumn, oneHotWidth, readColumn } from '../features';
import { type BoostedTrees, MAX_TREE_CATEGORIES, type TreeFeatures, boostedScore, fitBoostedTrees, treeFeatureValue } from '../gbt/boosting';
import { sigmoid } from '../logistic-regression';
import type { GradientBoostedTreesParams } from '../spec';
import { categoryCodes } from '../onnx/category-order';
import { treeEnsembleOutputs } from '../onnx/tree-ensemble';
import type { ModelAlgorithm } from './types';

export type BoostedTreesEstimator = { kind: 'gradient_boosted_trees' } & BoostedTrees;

/** The trees' features: raw numbers, and each categorical feature's code (its one-hot column index). */
export function treeFeatures(enc: EncodedFeatures, plan: FeaturePlan): TreeFeatures {
  return { numeric: enc.numeric, categorical: plan.categorical.map((f, i) => ({ codes: enc.codes[i]!, width: oneHotWidth(f) })) };
}

/**
 * How a model's trees read model column c of a row, and which raw feature c belongs to. Trees
 * trained before native categorical splits read one-hot columns (a block is one raw feature).
 */
function treeReader(est: BoostedTreesEstimator, features: FeaturePlan, enc: EncodedFeatures) {
  if (est.categoricalSplits === 'native') {
    const tf = treeFeatures(enc, features);
    return { read: (row: number) => (c: number) => treeFeatureValue(tf, c, row), groupOf: (c: number) => c };
  }
  const readers = columnReaders(enc, features);
  const groups = featureOfColumn(features);
  return { read: (row: number) => (c: number) => readColumn(readers[c]!, row), groupOf: (c: number) => groups[c]! };
}

export const gradientBoostedTrees: ModelAlgorithm<'gradient_boosted_trees', GradientBoostedTreesParams, BoostedTreesEstimator> = {
  name: 'gradient_boosted_trees',
  label: 'Gradient-boosted trees',
  async fit({ enc, plan, y, split, params, seed, pace, onProgress }) {
    for (const f of plan.categorical) {
      if (oneHotWidth(f) > MAX_TREE_CATEGORIES) {
        throw new MlInputError(
          `gradient-boosted trees split at most ${MAX_TREE_CATEGORIES} categories per feature, and "${f.name}" keeps ${oneHotWidth(f)}: set categorical.maxCategories to at most ${MAX_TREE_CATEGORIES - 1}`,
          'categorical.maxCategories',
        );
      }
    }
    const boosted = await fitBoostedTrees(treeFeatures(enc, plan), y, split.train, params, seed, { pace, onProgress });
    return { estimator: { kind: 'gradient_boosted_trees', ...boosted }, iterations: boosted.trees.length, converged: true, earlyStopped: boosted.earlyStopped };
  },
  columns(plan) {
    return [...plan.numeric, ...plan.categorical].map((f) => ({ feature: f.name, label: f.name }));
  },
  predict(est, features, enc, rows) {
    const { read } = treeReader(est, features, enc);
    const out = new Float64Array(rows.length);
    rows.forEach((r, k) => {
      out[k] = sigmoid(boostedScore(est, read(r)));
    });
    return out;
  },
  // TreeSHAP per tree over raw features; baseline the expected margin.
  explain(est, features, enc, row) {
    const { read, groupOf } = treeReader(est, features, enc);
    const contributions = new Float64Array(features.numeric.length + features.categorical.length);
    let baseline = est.baseScore;
    const x = read(row);
    for (const tree of est.trees) {
      baseline += expectedValue(tree);
      treeShap(tree, x, groupOf, contributions);
    }
    return { baseline, contributions };
  },
  // Total split gain per column.
  importance(est, columns) {
    const perColumn = new Float64Array(columns.length);
    for (const tree of est.trees) tree.feature.forEach((f, node) => f >= 0 && (perColumn[f]! += tree.gain[node]!));
    return perColumn;
  },
  // Trees split raw values (NaN routed per split), so the numeric features go in unscaled; trees
  // trained before native categorical splits read one-hot columns (numeric splits only). ai.onnx.ml 5
  // for TreeEnsemble's category-set splits (onnxruntime 1.18+).
  onnx: (est) => ({
    standardised: false,
    categorical: est.categoricalSplits === 'native' ? 'code' : 'one-hot',
    opsets: { onnx: 15, ml: 5 },
    // Codes renumbered so that category splits are BRANCH_LEQ where they can be (category-order.ts).
    categoryCodes: (first, widths) => categoryCodes(est.trees, first, widths),
    build: (io) => treeEnsembleOutputs(est, io.features, io.prefix, { label: io.label, probabilities: io.probabilities }, io.categoryCodes),
  }),
  form: [
    { key: 'learningRate', label: 'Learning rate', hint: 'Shrinkage per tree.', step: 'any', min: 0 },
    { key: 'maxIter', label: 'Trees', hint: 'At most; early stopping above 10k rows.', min: 1 },
    { key: 'maxLeafNodes', label: 'Max leaves', hint: 'Per tree.', min: 2, nullable: true },
    { key: 'maxDepth', label: 'Max depth', hint: 'Empty: unlimited.', min: 1, nullable: true },
    { key: 'minSamplesLeaf', label: 'Min rows per leaf', hint: '', min: 1 },
  ],
};
