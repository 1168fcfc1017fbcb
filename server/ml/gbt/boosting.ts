import { seededRandom } from '../random';
import type { GradientBoostedTreesParams } from '../spec';
import { holdoutSplit } from '../split';
import type { TrainingProgress } from '../types';
import { binEdges, binValues, binningSample } from './binning';
import { type GrowerData, Histograms, growTree } from './grower';
import { HistogramKernel } from './histogram-kernel';
import { type Tree, treeValue } from './tree';

export type BoostedTrees = {
  /** Log-odds before any tree (float32): the training positive rate's logit. */
  baseScore: number;
  trees: Tree[];
  earlyStopped: boolean;
  /**
   * 'native': trees split on raw features (numeric, then each categorical's category code, with
   * category-set splits). Absent on models trained before: their columns were numeric features and
   * one-hot columns.
   */
  categoricalSplits?: 'native';
};

/**
 * What the trees read: numeric features (float32, NaN = missing), then categorical features as
 * category codes 0..width-1 (-1 = a category never seen in training, routed as missing).
 */
export type TreeFeatures = { numeric: Float32Array[]; categorical: { codes: Int32Array; width: number }[] };

/** Feature f of a row as the trees read it (categorical: the code, NaN when unseen). */
export function treeFeatureValue(features: TreeFeatures, f: number, row: number): number {
  const k = features.numeric.length;
  if (f < k) return features.numeric[f]![row]!;
  const code = features.categorical[f - k]!.codes[row]!;
  return code < 0 ? NaN : code;
}

/** Categories a tree feature can have: codes and the missing bin fit in a byte. */
export const MAX_TREE_CATEGORIES = 254;

type Control = { pace: () => Promise<void>; onProgress?: (p: TrainingProgress) => void };

/**
 * Gradient boosting of histogram trees on the log loss (Newton leaf values), as scikit-learn's
 * HistGradientBoostingClassifier: one tree per iteration on the gradients p - y and hessians
 * p (1 - p); categorical features split by category sets; early stopping on a stratified
 * validation part of the training rows when the validation loss has not improved by more than
 * `tol` in `nIterNoChange` iterations (the trees grown so far are kept, as scikit-learn does).
 */
export async function fitBoostedTrees(features: TreeFeatures, y: Uint8Array, trainRows: Uint32Array, params: GradientBoostedTreesParams, seed: number, control: Control): Promise<BoostedTrees> {
  const earlyStopping = params.earlyStopping === 'auto' ? trainRows.length > 10_000 : params.earlyStopping;
  let fitRows: Uint32Array = trainRows;
  let validationRows: Uint32Array = new Uint32Array(0);
  if (earlyStopping) {
    const inner = holdoutSplit(y, { fraction: params.validationFraction, seed: seed + 1, stratify: true }, trainRows);
    fitRows = inner.train;
    validationRows = inner.holdout;
  }

  // The trees train on the fit rows only, by position: fit row k is row fitRows[k] (binned
  // columns, gradients, labels and raw scores), so the passes over them are sequential.
  const data = binFeatures(features, fitRows, params.maxBins, seed);
  const pool = new Histograms(data.nBins);
  const yFit = Uint8Array.from(fitRows, (r) => y[r]!);
  const yValidation = Uint8Array.from(validationRows, (r) => y[r]!);
  await control.pace();

  let positives = 0;
  for (const label of yFit) positives += label;
  const eps = 10 * Number.EPSILON;
  const rate = Math.min(1 - eps, Math.max(eps, positives / fitRows.length));
  const baseScore = Math.fround(Math.log(rate / (1 - rate)));
  const raw = new Float64Array(fitRows.length).fill(baseScore);
  const rawValidation = new Float64Array(validationRows.length).fill(baseScore);

  const trees: Tree[] = [];
  const validationScores = earlyStopping ? [-meanLoss(rawValidation, yValidation)] : [];
  let earlyStopped = false;
  const { partition } = data.kernel;
  gradientsAndLoss(raw, yFit, data);
  for (let iteration = 1; iteration <= params.maxIter; iteration++) {
    const { tree, leaves } = growTree(data, params, pool);
    trees.push(tree);
    // Unrounded leaf values in the running raw scores (scikit-learn's arithmetic); the exported
    // trees hold float32 leaves, a rounding that moves a probability by ~1e-7.
    for (const leaf of leaves) {
      const v = leaf.leafValue!;
      for (let k = leaf.start; k < leaf.stop; k++) raw[partition[k]!]! += v;
    }
    validationRows.forEach((r, k) => (rawValidation[k]! += treeValue(tree, (f) => treeFeatureValue(features, f, r))));

    // The next iteration's gradients, and this one's training loss on the way.
    const loss = gradientsAndLoss(raw, yFit, data);
    const validationLoss = earlyStopping ? meanLoss(rawValidation, yValidation) : undefined;
    control.onProgress?.({ iteration, loss, validationLoss, maxIterations: params.maxIter });
    await control.pace();
    if (validationLoss !== undefined) {
      validationScores.push(-validationLoss);
      if (shouldStop(validationScores, params.nIterNoChange, params.tol)) {
        earlyStopped = true;
        break;
      }
    }
  }
  return { baseScore, trees, earlyStopped, categoricalSplits: 'native' };
}

/**
 * Bins every feature of the fit rows once (column k is fit row k): numeric ones at scikit-learn's
 * edges, categorical ones by their code.
 */
function binFeatures(features: TreeFeatures, fitRows: Uint32Array, maxBins: number, seed: number): GrowerData {
  const sample = binningSample(fitRows, seededRandom(seed + 2));
  const columns = features.numeric.length + features.categorical.length;
  const m = fitRows.length;
  const kernel = new HistogramKernel(m, columns);
  const data: GrowerData = {
    binned: kernel.columns,
    nBins: new Int32Array(columns),
    hasMissing: new Uint8Array(columns),
    categorical: new Uint8Array(columns),
    edges: [],
    kernel,
  };
  features.numeric.forEach((xs, f) => {
    const edges = binEdges((r) => xs[r]!, sample, maxBins);
    data.edges.push(edges);
    binValues((k) => xs[fitRows[k]!]!, m, edges, data.binned[f]);
    data.nBins[f] = edges.length + 1;
  });
  features.categorical.forEach(({ codes, width }, j) => {
    const f = features.numeric.length + j;
    if (width > MAX_TREE_CATEGORIES) throw new Error(`tree feature ${f} has ${width} categories, more than ${MAX_TREE_CATEGORIES}`);
    const bins = data.binned[f]!;
    for (let k = 0; k < m; k++) {
      const code = codes[fitRows[k]!]!;
      bins[k] = code < 0 ? width : code;
    }
    data.edges.push(new Float64Array(0));
    data.nBins[f] = width;
    data.categorical[f] = 1;
  });
  data.binned.forEach((binned, f) => {
    data.hasMissing[f] = binned.includes(data.nBins[f]!) ? 1 : 0;
  });
  return data;
}

/**
 * Writes float32 gradients p - y and hessians p (1 - p) of the fit rows (scikit-learn's
 * arithmetic, so near-tie splits resolve the same way) and returns their mean log loss.
 */
function gradientsAndLoss(raw: Float64Array, y: Uint8Array, data: GrowerData): number {
  const { pairs } = data.kernel;
  let loss = 0;
  for (let k = 0; k < raw.length; k++) {
    const z = raw[k]!;
    const e = Math.exp(-Math.abs(z));
    const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    const label = y[k]!;
    // log(1 + e^z) - y z, without overflow.
    loss += (z > 0 ? z : 0) + Math.log1p(e) - (label ? z : 0);
    pairs[2 * k] = p - label;
    pairs[2 * k + 1] = p * (1 - p);
  }
  return loss / raw.length;
}

function meanLoss(raw: Float64Array, y: Uint8Array): number {
  let s = 0;
  for (let k = 0; k < raw.length; k++) {
    const z = raw[k]!;
    s += (z > 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z))) - (y[k] ? z : 0);
  }
  return s / raw.length;
}

/** scikit-learn's rule: stop when none of the last n scores beats the one before them by more than tol. */
function shouldStop(scores: number[], n: number, tol: number): boolean {
  if (scores.length < n + 1) return false;
  const reference = scores[scores.length - n - 1]! + tol;
  return !scores.slice(-n).some((s) => s > reference);
}

/** The raw (log-odds) score of a row: what TreeEnsembleClassifier sums before its logistic. */
export function boostedScore(model: BoostedTrees, read: (feature: number) => number): number {
  let s = model.baseScore;
  for (const tree of model.trees) s += treeValue(tree, read);
  return s;
}
