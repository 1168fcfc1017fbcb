import { type Tree, goesLeft } from '../gbt/tree';

export { goesLeft };

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion and Lee 2018, "Consistent individualized feature
 * attribution for tree ensembles", Algorithm 2), following the reference implementation's
 * extend / unwind / unwound-sum steps. A feature absent from a coalition follows both branches,
 * weighted by the training rows (cover) that went each way. Splits are on model columns; `groupOf`
 * maps a column to the feature it is part of (a one-hot block is one feature), so the values are the
 * exact Shapley values of the raw features, and they sum to f(x) - E[f] for each tree.
 */

/**
 * The unique path, as the reference implementation keeps it: one buffer, each recursion level
 * copying its parent's path into the next segment (so no allocation per node).
 */
type Paths = { feature: Int32Array; zero: Float64Array; one: Float64Array; weight: Float64Array };

function copyPath(p: Paths, from: number, to: number, length: number): void {
  p.feature.copyWithin(to, from, from + length);
  p.zero.copyWithin(to, from, from + length);
  p.one.copyWithin(to, from, from + length);
  p.weight.copyWithin(to, from, from + length);
}

function extendPath(p: Paths, o: number, depth: number, zero: number, one: number, feature: number): void {
  p.feature[o + depth] = feature;
  p.zero[o + depth] = zero;
  p.one[o + depth] = one;
  p.weight[o + depth] = depth === 0 ? 1 : 0;
  const w = p.weight;
  for (let i = depth - 1; i >= 0; i--) {
    w[o + i + 1]! += (one * w[o + i]! * (i + 1)) / (depth + 1);
    w[o + i] = (zero * w[o + i]! * (depth - i)) / (depth + 1);
  }
}

function unwindPath(p: Paths, o: number, depth: number, index: number): void {
  const one = p.one[o + index]!;
  const zero = p.zero[o + index]!;
  const w = p.weight;
  let next = w[o + depth]!;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = w[o + i]!;
      w[o + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (w[o + i]! * zero * (depth - i)) / (depth + 1);
    } else {
      w[o + i] = (w[o + i]! * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    p.feature[o + i] = p.feature[o + i + 1]!;
    p.zero[o + i] = p.zero[o + i + 1]!;
    p.one[o + i] = p.one[o + i + 1]!;
  }
}

function unwoundPathSum(p: Paths, o: number, depth: number, index: number): number {
  const one = p.one[o + index]!;
  const zero = p.zero[o + index]!;
  const w = p.weight;
  let next = w[o + depth]!;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = w[o + i]! - (tmp * zero * (depth - i)) / (depth + 1);
    } else if (zero !== 0) {
      total += w[o + i]! / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function treeDepth(tree: Tree, node = 0): number {
  return tree.feature[node]! < 0 ? 0 : 1 + Math.max(treeDepth(tree, tree.left[node]!), treeDepth(tree, tree.right[node]!));
}

/**
 * Adds one tree's SHAP values for one row to `phi` (indexed by feature group). `read(c)` is the
 * row's value of model column c.
 */
export function treeShap(tree: Tree, read: (column: number) => number, groupOf: (column: number) => number, phi: Float64Array): void {
  const d = treeDepth(tree) + 2;
  const size = (d * (d + 1)) / 2 + d;
  const p: Paths = { feature: new Int32Array(size), zero: new Float64Array(size), one: new Float64Array(size), weight: new Float64Array(size) };
  const recurse = (node: number, parentOffset: number, depth: number, zero: number, one: number, feature: number): void => {
    // This level's path: the parent's depth entries, then the new one at `depth`.
    const o = parentOffset + depth;
    if (depth > 0) copyPath(p, parentOffset, o, depth);
    extendPath(p, o, depth, zero, one, feature);
    const column = tree.feature[node]!;
    if (column < 0) {
      const value = tree.value[node]!;
      for (let i = 1; i <= depth; i++) phi[p.feature[o + i]!]! += unwoundPathSum(p, o, depth, i) * (p.one[o + i]! - p.zero[o + i]!) * value;
      return;
    }
    const left = goesLeft(tree, node, read(column));
    const hot = left ? tree.left[node]! : tree.right[node]!;
    const cold = left ? tree.right[node]! : tree.left[node]!;
    const cover = tree.cover[node]!;
    const group = groupOf(column);
    let incomingZero = 1;
    let incomingOne = 1;
    let k = depth;
    let seen = 1;
    while (seen <= k && p.feature[o + seen] !== group) seen++;
    if (seen <= k) {
      incomingZero = p.zero[o + seen]!;
      incomingOne = p.one[o + seen]!;
      unwindPath(p, o, k, seen);
      k -= 1;
    }
    recurse(hot, o, k + 1, (tree.cover[hot]! / cover) * incomingZero, incomingOne, group);
    recurse(cold, o, k + 1, (tree.cover[cold]! / cover) * incomingZero, 0, group);
  };
  recurse(0, 0, 0, 1, 1, -1);
}

/** E[f]: the tree's leaf values weighted by the training rows that reached them. */
export function expectedValue(tree: Tree): number {
  let total = 0;
  tree.feature.forEach((f, node) => {
    if (f < 0) total += tree.value[node]! * tree.cover[node]!;
  });
  return total / tree.cover[0]!;
}
