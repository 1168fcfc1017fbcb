import { expectedValue, treeShap } from '../explain/tree-shap';
import { columnReaders, featureOfColumn, readColumn } from '../features';
import { type BoostedTrees, boostedScore, fitBoostedTrees } from '../gbt/boosting';
import { sigmoid } from '../logistic-regression';
import type { GradientBoostedTreesParams } from '../spec';
import { ML_DOMAIN, attr, node } from '../onnx/proto';
import type { ModelAlgorithm, OnnxClassifierIo } from './types';

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
  // Trees split raw values (NaN routed per split), so the numeric features go in unscaled.
  onnx: { standardised: false, classifier: treeEnsemble },
  form: [
    { key: 'learningRate', label: 'Learning rate', hint: 'Shrinkage per tree.', step: 'any', min: 0 },
    { key: 'maxIter', label: 'Trees', hint: 'At most; early stopping above 10k rows.', min: 1 },
    { key: 'maxLeafNodes', label: 'Max leaves', hint: 'Per tree.', min: 2, nullable: true },
    { key: 'maxDepth', label: 'Max depth', hint: 'Empty: unlimited.', min: 1, nullable: true },
    { key: 'minSamplesLeaf', label: 'Min rows per leaf', hint: '', min: 1 },
  ],
};

function treeEnsemble(est: BoostedTreesEstimator, io: OnnxClassifierIo) {
  const n = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    values: [] as number[],
    modes: [] as string[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
  };
  const leaf = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  est.trees.forEach((tree, t) => {
    tree.feature.forEach((f, id) => {
      n.treeIds.push(t);
      n.nodeIds.push(id);
      if (f < 0) {
        n.featureIds.push(0);
        n.values.push(0);
        n.modes.push('LEAF');
        n.trueIds.push(0);
        n.falseIds.push(0);
        n.missingTrue.push(0);
        leaf.treeIds.push(t);
        leaf.nodeIds.push(id);
        leaf.weights.push(tree.value[id]!);
      } else {
        n.featureIds.push(f);
        n.values.push(tree.threshold[id]!);
        n.modes.push('BRANCH_LEQ');
        n.trueIds.push(tree.left[id]!);
        n.falseIds.push(tree.right[id]!);
        n.missingTrue.push(tree.missingGoLeft[id] ? 1 : 0);
      }
    });
  });
  // Binary convention (as skl2onnx): every leaf scores class id 0 with one base value; onnxruntime
  // returns [1 - p, p] with p = logistic(base + sum of leaves).
  return node(
    'TreeEnsembleClassifier',
    [io.features],
    [io.label, io.probabilities],
    [
      attr.ints('nodes_treeids', n.treeIds),
      attr.ints('nodes_nodeids', n.nodeIds),
      attr.ints('nodes_featureids', n.featureIds),
      attr.floats('nodes_values', n.values),
      attr.strings('nodes_modes', n.modes),
      attr.ints('nodes_truenodeids', n.trueIds),
      attr.ints('nodes_falsenodeids', n.falseIds),
      attr.ints('nodes_missing_value_tracks_true', n.missingTrue),
      attr.ints('class_treeids', leaf.treeIds),
      attr.ints('class_nodeids', leaf.nodeIds),
      attr.ints('class_ids', leaf.treeIds.map(() => 0)),
      attr.floats('class_weights', leaf.weights),
      attr.ints('classlabels_int64s', [0, 1]),
      attr.floats('base_values', [est.baseScore]),
      attr.string('post_transform', 'LOGISTIC'),
    ],
    ML_DOMAIN,
  );
}

