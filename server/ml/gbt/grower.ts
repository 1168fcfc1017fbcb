import type { HistogramKernel } from './histogram-kernel';
import { MIN_HESSIAN_TO_SPLIT, type SplitContext, type SplitInfo, categoricalSplit, nodeValue, numericSplit } from './splits';
import type { Tree } from './tree';

/** The training side of one boosting iteration: binned features and per-row gradients and hessians. */
export type GrowerData = {
  /**
   * Per feature, per row: a bin in 0..nBins-1, or nBins for a missing value. A categorical
   * feature's bin is its category code (so at most 255 categories).
   */
  binned: Uint8Array[];
  /** Non-missing bins per feature; a numeric split at bin b sends bins <= b left. */
  nBins: Int32Array;
  /** Whether the feature had missing values in the training rows (only then both directions are scanned). */
  hasMissing: Uint8Array;
  /** 1 for a categorical feature: split by a set of categories, not at a threshold. */
  categorical: Uint8Array;
  /** Bin edges of numeric features (empty for categorical ones). */
  edges: Float64Array[];
  /**
   * The memory `binned` lives in, with per row (gradient, hessian) as float32 (scikit-learn's
   * G_H_DTYPE, summed in float64) in `kernel.pairs` and the partition the tree is grown on.
   */
  kernel: HistogramKernel;
};

export type GrowerParams = {
  maxLeafNodes: number | null;
  maxDepth: number | null;
  minSamplesLeaf: number;
  l2Regularization: number;
  learningRate: number;
};

type GrowNode = {
  start: number;
  stop: number;
  depth: number;
  sumG: number;
  sumH: number;
  value: number;
  /** Interleaved (gradient, hessian, count) per bin, features one after the other (see Histograms). */
  hist?: Float64Array;
  split?: SplitInfo;
  /** Set on leaves by flatten(): the value with the learning rate applied (float64; the tree holds it as float32). */
  leafValue?: number;
  left?: GrowNode;
  right?: GrowNode;
};

export type GrownLeaf = { start: number; stop: number; leafValue?: number };

/**
 * Histogram layout and a pool of buffers: each feature gets nBins + 1 slots (the last one for
 * missing values). Buffers are reused across nodes and trees: growing allocates nothing per node.
 */
export class Histograms {
  readonly offset: Int32Array;
  readonly slots: number;
  /** 3 * offset: where feature f's (gradient, hessian, count) triples start. */
  readonly base: Int32Array;
  private readonly free: Float64Array[] = [];
  constructor(nBins: Int32Array) {
    this.offset = new Int32Array(nBins.length);
    this.base = new Int32Array(nBins.length);
    let s = 0;
    nBins.forEach((nb, f) => {
      this.offset[f] = s;
      this.base[f] = 3 * s;
      s += nb + 1;
    });
    this.slots = s;
  }
  /** A buffer with any content (the kernel overwrites it). */
  take(): Float64Array {
    return this.free.pop() ?? new Float64Array(this.slots * 3);
  }
  give(h: Float64Array | undefined) {
    if (h) this.free.push(h);
  }
}

/**
 * Grows one tree best-first on histograms, following scikit-learn's HistGradientBoosting grower:
 * always split the leaf with the largest loss reduction until maxLeafNodes; leaves need
 * minSamplesLeaf rows; missing values go to whichever side gains more (and, for a feature without
 * missing values in training, to the larger child); leaf value = -G / (H + l2), times the learning
 * rate. `data.kernel.partition` is reset to the training rows and reordered in place (each node
 * owns a range). Returns the tree and, per leaf, its range of the partition (to update raw
 * predictions cheaply).
 */
export function growTree(data: GrowerData, params: GrowerParams, pool: Histograms): { tree: Tree; leaves: GrownLeaf[] } {
  const { kernel } = data;
  kernel.resetPartition();
  const hist = pool.take();
  kernel.build(hist, pool.base, 0, kernel.partition.length, true);
  let sumG = 0;
  let sumH = 0;
  // Any feature's bins (missing included) cover every row once.
  for (let b = 0; b <= data.nBins[0]!; b++) {
    sumG += hist[3 * b]!;
    sumH += hist[3 * b + 1]!;
  }
  const root: GrowNode = { start: 0, stop: kernel.partition.length, depth: 0, sumG, sumH, value: 0, hist };
  const leaves: GrowNode[] = [];
  const splittable: GrowNode[] = [];
  const finalize = (...nodes: GrowNode[]) => {
    for (const node of nodes) {
      pool.give(node.hist);
      node.hist = undefined;
      leaves.push(node);
    }
  };
  const consider = (node: GrowNode) => {
    node.split = findSplit(data, pool, node, params);
    if (node.split.gain > 0) splittable.push(node);
    else finalize(node);
  };
  if (root.stop - root.start < 2 * params.minSamplesLeaf || sumH < MIN_HESSIAN_TO_SPLIT) finalize(root);
  else consider(root);

  while (splittable.length) {
    let best = 0;
    for (let i = 1; i < splittable.length; i++) if (splittable[i]!.split!.gain > splittable[best]!.split!.gain) best = i;
    const node = splittable.splice(best, 1)[0]!;
    const split = node.split!;
    const mid = partitionNode(data, node, split);
    const depth = node.depth + 1;
    const gRight = node.sumG - split.gLeft;
    const hRight = node.sumH - split.hLeft;
    const l2 = params.l2Regularization;
    const left: GrowNode = { start: node.start, stop: mid, depth, sumG: split.gLeft, sumH: split.hLeft, value: nodeValue(split.gLeft, split.hLeft, l2) };
    const right: GrowNode = { start: mid, stop: node.stop, depth, sumG: gRight, sumH: hRight, value: nodeValue(gRight, hRight, l2) };
    node.left = left;
    node.right = right;
    if (!data.hasMissing[split.feature]) split.missingGoLeft = left.stop - left.start > right.stop - right.start;

    const parentHist = node.hist!;
    node.hist = undefined;
    const nLeaves = leaves.length + splittable.length + 2;
    if (params.maxLeafNodes !== null && nLeaves >= params.maxLeafNodes) {
      pool.give(parentHist);
      finalize(left, right, ...splittable.splice(0));
      break;
    }
    if (params.maxDepth !== null && depth >= params.maxDepth) {
      pool.give(parentHist);
      finalize(left, right);
      continue;
    }
    const leftOpen = left.stop - left.start >= 2 * params.minSamplesLeaf;
    const rightOpen = right.stop - right.start >= 2 * params.minSamplesLeaf;
    if (leftOpen || rightOpen) {
      // Histogram of the smaller child by a pass over its rows; the larger one's by subtraction,
      // in place in the parent's buffer.
      const [small, large] = left.stop - left.start < right.stop - right.start ? [left, right] : [right, left];
      small.hist = buildHistogram(kernel, pool, small.start, small.stop);
      for (let i = 0; i < parentHist.length; i++) parentHist[i]! -= small.hist[i]!;
      large.hist = parentHist;
    } else pool.give(parentHist);
    if (leftOpen) consider(left);
    else finalize(left);
    if (rightOpen) consider(right);
    else finalize(right);
  }
  return { tree: flatten(root, data, params.learningRate), leaves };
}

function buildHistogram(kernel: HistogramKernel, pool: Histograms, start: number, stop: number): Float64Array {
  const hist = pool.take();
  kernel.build(hist, pool.base, start, stop);
  return hist;
}

function findSplit(data: GrowerData, pool: Histograms, node: GrowNode, params: GrowerParams): SplitInfo {
  const best: SplitInfo = { gain: -1, feature: -1, bin: -1, missingGoLeft: false, gLeft: 0, hLeft: 0, leftBins: null };
  const G = node.sumG;
  const ctx: SplitContext = { hist: node.hist!, n: node.stop - node.start, G, H: node.sumH, l2: params.l2Regularization, parentLoss: G * node.value, minLeaf: params.minSamplesLeaf, best };
  for (let f = 0; f < data.binned.length; f++) {
    if (data.categorical[f]) categoricalSplit(ctx, f, pool.offset[f]!, data.nBins[f]!, data.hasMissing[f]!);
    else numericSplit(ctx, f, pool.offset[f]!, data.nBins[f]!, data.hasMissing[f]!);
  }
  return best;
}

/** Reorders the node's range of the partition, left rows first (stable), and returns the boundary. */
function partitionNode(data: GrowerData, node: GrowNode, split: SplitInfo): number {
  const missing = data.nBins[split.feature]!;
  // Per bin: whether it goes left (the missing bin included).
  const left = data.kernel.goesLeft;
  left.fill(0);
  if (split.leftBins) for (const b of split.leftBins) left[b] = 1;
  else {
    left.fill(1, 0, split.bin + 1);
    left[missing] = split.missingGoLeft ? 1 : 0;
  }
  return data.kernel.partitionRange(node.start, node.stop, data.binned[split.feature]!);
}

function flatten(root: GrowNode, data: GrowerData, learningRate: number): Tree {
  const tree: Tree = { feature: [], threshold: [], missingGoLeft: [], left: [], right: [], value: [], gain: [], cover: [], leftCategories: [] };
  const visit = (node: GrowNode): number => {
    const id = tree.feature.length;
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.missingGoLeft.push(false);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    tree.gain.push(0);
    tree.cover.push(node.stop - node.start);
    tree.leftCategories!.push(null);
    if (!node.left || !node.right || !node.split) {
      node.leafValue = node.value * learningRate;
      tree.value[id] = Math.fround(node.leafValue);
      return id;
    }
    const s = node.split;
    const missingBin = data.nBins[s.feature]!;
    tree.feature[id] = s.feature;
    if (s.leftBins) tree.leftCategories![id] = s.leftBins.filter((b) => b !== missingBin);
    // A split at the last non-missing bin separates missing values from all the others.
    else tree.threshold[id] = s.bin === missingBin - 1 ? Infinity : data.edges[s.feature]![s.bin]!;
    tree.missingGoLeft[id] = s.missingGoLeft;
    tree.gain[id] = s.gain;
    tree.left[id] = visit(node.left);
    tree.right[id] = visit(node.right);
    return id;
  };
  visit(root);
  if (tree.leftCategories!.every((c) => c === null)) delete tree.leftCategories;
  return tree;
}
