import type { BoostedTrees } from '../gbt/boosting';
import type { Tree } from '../gbt/tree';
import { categorySplitForm } from './category-order';
import { ElemType, ML_DOMAIN, attr, doubleTensor, int64Tensor, node, uint8Tensor } from './proto';

/** ai.onnx.ml opset 5's TreeEnsemble node modes (nodes_modes is a uint8 tensor). */
const BRANCH_LEQ = 0;
const BRANCH_MEMBER = 6;

/**
 * The graph's category codes (export.ts renumbers each categorical feature, category-order.ts):
 * tree feature `first + j` reads code[j][c] for a category the trees know as code c.
 */
export type CategoryCodes = { first: number; code: readonly (readonly number[])[] };

type Built = { nodes: ReturnType<typeof node>[]; initializers: ReturnType<typeof int64Tensor>[] };

/**
 * Gradient-boosted trees as ai.onnx.ml opset 5 `TreeEnsemble` (onnxruntime 1.18+), which has
 * category-set splits (BRANCH_MEMBER) that TreeEnsembleClassifier lacks, then the binary
 * classifier outputs built in the graph:
 *
 *   features (float [N,d]) -> Cast double -> TreeEnsemble (SUM, margin without base) -> + base score
 *   -> label = int64(margin > 0) [N]; probabilities = float([1 - sigmoid, sigmoid]) [N,2]
 *
 * In double from the Cast on: inputs are float32 and every split value and leaf is a float32
 * value, so routing is exact and the sum matches the TypeScript model's to double rounding.
 * TreeEnsemble holds only split nodes (true/false point at a node or a leaf): a tree that is a
 * single leaf gets one split node whose branches both reach that leaf.
 *
 * A category split is BRANCH_MEMBER on its set of codes, or, when `categories` renumbers the codes
 * so that the set is the lowest or the highest ones, one BRANCH_LEQ node (~3x cheaper in
 * onnxruntime). Codes are integers or NaN (missing or unseen), so either form routes alike.
 */
export function treeEnsembleOutputs(est: BoostedTrees, features: string, prefix: string, out: { label: string; probabilities: string }, categories?: CategoryCodes): Built {
  const n = { roots: [] as number[], modes: [] as number[], featureIds: [] as number[], splits: [] as number[], missingTrue: [] as number[] };
  const branch = { trueIds: [] as number[], trueLeaf: [] as number[], falseIds: [] as number[], falseLeaf: [] as number[] };
  const leafWeights: number[] = [];
  const membership: number[] = [];
  const addNode = (mode: number, feature: number, split: number, missingTrue: boolean, t: [number, number], f: [number, number]) => {
    n.modes.push(mode);
    n.featureIds.push(feature);
    n.splits.push(split);
    n.missingTrue.push(missingTrue ? 1 : 0);
    branch.trueIds.push(t[0]);
    branch.trueLeaf.push(t[1]);
    branch.falseIds.push(f[0]);
    branch.falseLeaf.push(f[1]);
  };
  for (const tree of est.trees) {
    // Our node id -> its index among leaves or among split nodes.
    const index = tree.feature.map((f, id) => (f < 0 ? leafWeights.push(tree.value[id]!) - 1 : -1));
    const splitIds = tree.feature.flatMap((f, id) => (f >= 0 ? [id] : []));
    if (splitIds.length === 0) {
      n.roots.push(n.modes.length);
      addNode(BRANCH_LEQ, 0, 0, false, [index[0]!, 1], [index[0]!, 1]);
      continue;
    }
    let next = n.modes.length;
    for (const id of splitIds) index[id] = next++;
    n.roots.push(index[0]!);
    const target = (id: number): [number, number] => [index[id]!, tree.feature[id]! < 0 ? 1 : 0];
    for (const id of splitIds) {
      const s = splitOf(tree, id, categories);
      if (s.members) membership.push(...s.members, NaN);
      const [left, right] = [target(tree.left[id]!), target(tree.right[id]!)];
      addNode(s.mode, tree.feature[id]!, s.split, s.missingTrue, s.swap ? right : left, s.swap ? left : right);
    }
  }
  const p = prefix;
  const ensemble = node(
    'TreeEnsemble',
    [`${p}double`],
    [`${p}sum`],
    [
      attr.int('aggregate_function', 1),
      attr.int('n_targets', 1),
      attr.int('post_transform', 0),
      attr.ints('tree_roots', n.roots),
      attr.tensor('nodes_modes', uint8Tensor('nodes_modes', n.modes)),
      attr.ints('nodes_featureids', n.featureIds),
      attr.tensor('nodes_splits', doubleTensor('nodes_splits', n.splits)),
      attr.ints('nodes_truenodeids', branch.trueIds),
      attr.ints('nodes_trueleafs', branch.trueLeaf),
      attr.ints('nodes_falsenodeids', branch.falseIds),
      attr.ints('nodes_falseleafs', branch.falseLeaf),
      attr.ints('nodes_missing_value_tracks_true', n.missingTrue),
      ...(membership.length ? [attr.tensor('membership_values', doubleTensor('membership_values', membership))] : []),
      attr.ints('leaf_targetids', leafWeights.map(() => 0)),
      attr.tensor('leaf_weights', doubleTensor('leaf_weights', leafWeights)),
    ],
    ML_DOMAIN,
  );
  return {
    nodes: [
      node('Cast', [features], [`${p}double`], [attr.int('to', ElemType.DOUBLE)]),
      ensemble,
      node('Add', [`${p}sum`, `${p}base`], [`${p}margin`]),
      node('Sigmoid', [`${p}margin`], [`${p}positive`]),
      node('Sub', [`${p}one`, `${p}positive`], [`${p}negative`]),
      node('Concat', [`${p}negative`, `${p}positive`], [`${p}pair`], [attr.int('axis', 1)]),
      node('Cast', [`${p}pair`], [out.probabilities], [attr.int('to', ElemType.FLOAT)]),
      // TreeEnsembleClassifier's binary rule: the positive class when the margin is above 0.
      node('Greater', [`${p}margin`, `${p}zero`], [`${p}above`]),
      node('Cast', [`${p}above`], [`${p}label2d`], [attr.int('to', ElemType.INT64)]),
      node('Reshape', [`${p}label2d`, `${p}flat`], [out.label]),
    ],
    initializers: [doubleTensor(`${p}base`, [est.baseScore], []), doubleTensor(`${p}one`, [1], []), doubleTensor(`${p}zero`, [0], []), int64Tensor(`${p}flat`, [-1])],
  };
}

/** A split node's mode, split value and missing direction, and whether its branches swap (true goes right). */
function splitOf(tree: Tree, id: number, categories?: CategoryCodes): { mode: number; split: number; missingTrue: boolean; swap: boolean; members?: number[] } {
  const missingLeft = tree.missingGoLeft[id]!;
  const set = tree.leftCategories?.[id];
  if (!set) return { mode: BRANCH_LEQ, split: tree.threshold[id]!, missingTrue: missingLeft, swap: false };
  const code = categories?.code[tree.feature[id]! - categories.first];
  const form = code ? categorySplitForm(set, code, code.length) : ({ kind: 'member', codes: set } as const);
  if (form.kind === 'member') return { mode: BRANCH_MEMBER, split: NaN, missingTrue: missingLeft, swap: false, members: form.codes };
  // The set is the highest codes: x <= threshold goes right, and missing values with it unless they go left.
  return { mode: BRANCH_LEQ, split: form.threshold, missingTrue: form.inLow ? missingLeft : !missingLeft, swap: !form.inLow };
}
