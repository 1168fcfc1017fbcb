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
 *
 * With `categories` (the export), no node tracks missing values: onnxruntime then walks the trees
 * in a loop without a NaN test per node (~6% faster). A comparison with NaN is false, so each node
 * is written so that its false branch is where missing values go: x <= t when they go right, else
 * -x <= nextDown(-t) with the branches swapped (x > t goes right), reading a negated copy of the
 * features (columns d..2d-1: Neg and Concat before the ensemble); a member set whose missing
 * values go left becomes its complement among the feature's codes, branches swapped.
 */
export function treeEnsembleOutputs(est: BoostedTrees, features: string, prefix: string, out: { label: string; probabilities: string }, categories?: CategoryCodes): Built {
  const n = { roots: [] as number[], modes: [] as number[], featureIds: [] as number[], splits: [] as number[], missingTrue: [] as number[] };
  const branch = { trueIds: [] as number[], trueLeaf: [] as number[], falseIds: [] as number[], falseLeaf: [] as number[] };
  const leafWeights: number[] = [];
  const membership: number[] = [];
  let negated = false;
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
      negated ||= s.feature !== tree.feature[id];
      addNode(s.mode, s.feature, s.split, s.missingTrue, s.swap ? right : left, s.swap ? left : right);
    }
  }
  const p = prefix;
  const ensemble = treeEnsembleNode(negated ? `${p}signed` : `${p}double`, `${p}sum`, { ...n, ...branch, membership, leafWeights }, doubleTensor);
  const signed = negated ? [node('Neg', [`${p}double`], [`${p}negated`]), node('Concat', [`${p}double`, `${p}negated`], [`${p}signed`], [attr.int('axis', 1)])] : [];
  const tail = classifierOutputs(est.baseScore, p, out);
  return { nodes: [node('Cast', [features], [`${p}double`], [attr.int('to', ElemType.DOUBLE)]), ...signed, ensemble, ...tail.nodes], initializers: tail.initializers };
}

/** A TreeEnsemble node's arrays, in ai.onnx.ml opset 5's attribute order. */
export type EnsembleArrays = {
  roots: number[];
  modes: number[];
  featureIds: number[];
  splits: number[];
  missingTrue: number[];
  trueIds: number[];
  trueLeaf: number[];
  falseIds: number[];
  falseLeaf: number[];
  membership: number[];
  leafWeights: number[];
};

/** A single-target SUM TreeEnsemble node (no post transform); `tensor` makes its split, member and leaf tensors (double here, float in bench/tree-eval.ts). */
export function treeEnsembleNode(input: string, output: string, a: EnsembleArrays, tensor: (name: string, values: number[]) => ReturnType<typeof doubleTensor>): ReturnType<typeof node> {
  return node(
    'TreeEnsemble',
    [input],
    [output],
    [
      attr.int('aggregate_function', 1),
      attr.int('n_targets', 1),
      attr.int('post_transform', 0),
      attr.ints('tree_roots', a.roots),
      attr.tensor('nodes_modes', uint8Tensor('nodes_modes', a.modes)),
      attr.ints('nodes_featureids', a.featureIds),
      attr.tensor('nodes_splits', tensor('nodes_splits', a.splits)),
      attr.ints('nodes_truenodeids', a.trueIds),
      attr.ints('nodes_trueleafs', a.trueLeaf),
      attr.ints('nodes_falsenodeids', a.falseIds),
      attr.ints('nodes_falseleafs', a.falseLeaf),
      attr.ints('nodes_missing_value_tracks_true', a.missingTrue),
      ...(a.membership.length ? [attr.tensor('membership_values', tensor('membership_values', a.membership))] : []),
      attr.ints('leaf_targetids', a.leafWeights.map(() => 0)),
      attr.tensor('leaf_weights', tensor('leaf_weights', a.leafWeights)),
    ],
    ML_DOMAIN,
  );
}

/** From the ensemble's sum: + base score, label = int64(margin > 0) [N], probabilities = float([1 - sigmoid, sigmoid]) [N,2]. */
function classifierOutputs(baseScore: number, p: string, out: { label: string; probabilities: string }): Built {
  return {
    nodes: [
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
    initializers: [doubleTensor(`${p}base`, [baseScore], []), doubleTensor(`${p}one`, [1], []), doubleTensor(`${p}zero`, [0], []), int64Tensor(`${p}flat`, [-1])],
  };
}

type SplitNode = { mode: number; feature: number; split: number; missingTrue: boolean; swap: boolean; members?: number[] };

/**
 * A split node: its mode, the feature column it reads (f, or d + f for -x), split value, missing
 * direction and whether its branches swap (true goes right); without `categories`, as trained
 * (category sets as members, missing values tracked).
 */
function splitOf(tree: Tree, id: number, categories?: CategoryCodes): SplitNode {
  const f = tree.feature[id]!;
  const missingLeft = tree.missingGoLeft[id]!;
  const set = tree.leftCategories?.[id];
  if (!categories) {
    if (set) return { mode: BRANCH_MEMBER, feature: f, split: NaN, missingTrue: missingLeft, swap: false, members: set };
    return { mode: BRANCH_LEQ, feature: f, split: tree.threshold[id]!, missingTrue: missingLeft, swap: false };
  }
  const minus = f + categories.first + categories.code.length;
  // Missing values go to the false branch: x <= t when they go right; else -x <= nextDown(-t) (x > t), which goes right.
  if (!set) return missingLeft ? { ...leq(minus, below32(-tree.threshold[id]!)), swap: true } : leq(f, tree.threshold[id]!);
  const code = categories.code[f - categories.first]!;
  const form = categorySplitForm(set, code, code.length);
  if (form.kind === 'member') {
    if (!missingLeft) return { mode: BRANCH_MEMBER, feature: f, split: NaN, missingTrue: false, swap: false, members: form.codes };
    const outside = code.map((_, k) => k).filter((k) => !form.codes.includes(k));
    return { mode: BRANCH_MEMBER, feature: f, split: NaN, missingTrue: false, swap: true, members: outside };
  }
  // x <= threshold is the low side: in the set when inLow. Missing values take the high side of
  // x <= threshold, the low side of -x <= -(threshold + 1) (codes are integers).
  if (missingLeft !== form.inLow) return { ...leq(f, form.threshold), swap: !form.inLow };
  return { ...leq(minus, -(form.threshold + 1)), swap: form.inLow };
}

const leq = (feature: number, split: number): SplitNode => ({ mode: BRANCH_LEQ, feature, split, missingTrue: false, swap: false });

/** The float32 value just below v (a float32 value): for float32 x, x < v exactly when x <= below32(v). */
function below32(v: number): number {
  const f = new Float32Array([v]);
  const bits = new Int32Array(f.buffer);
  if (v === 0) return -1.401298464324817e-45;
  bits[0]! += v > 0 ? -1 : 1;
  return f[0]!;
}
