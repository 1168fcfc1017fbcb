import { type ColumnReader, readColumn } from '../features';
import { sigmoid, softplus } from '../logistic-regression';
import { seededRandom } from '../random';
import type { GradientBoostedTreesParams } from '../spec';
import { holdoutSplit } from '../split';
import type { TrainingProgress } from '../types';
import { binEdges, binValues } from './binning';
import { type GrowerData, Histograms, growTree } from './grower';
import { type Tree, treeValue } from './tree';

export type BoostedTrees = {
  /** Log-odds before any tree (float32): the training positive rate's logit. */
  baseScore: number;
  trees: Tree[];
  earlyStopped: boolean;
};

type Control = { pace: () => Promise<void>; onProgress?: (p: TrainingProgress) => void };

/**
 * Gradient boosting of histogram trees on the log loss (Newton leaf values), as scikit-learn's
 * HistGradientBoostingClassifier: one tree per iteration on the gradients p - y and hessians
 * p (1 - p); early stopping on a stratified validation part of the training rows when the validation
 * loss has not improved by more than `tol` in `nIterNoChange` iterations (the trees grown so far are
 * kept, as scikit-learn does).
 */
export async function fitBoostedTrees(
  readers: ColumnReader[],
  n: number,
  y: Uint8Array,
  trainRows: Uint32Array,
  params: GradientBoostedTreesParams,
  seed: number,
  control: Control,
): Promise<BoostedTrees> {
  const earlyStopping = params.earlyStopping === 'auto' ? trainRows.length > 10_000 : params.earlyStopping;
  let fitRows: Uint32Array = trainRows;
  let validationRows: Uint32Array = new Uint32Array(0);
  if (earlyStopping) {
    const inner = holdoutSplit(y, { fraction: params.validationFraction, seed: seed + 1, stratify: true }, trainRows);
    fitRows = inner.train;
    validationRows = inner.holdout;
  }

  const rng = seededRandom(seed + 2);
  const data: GrowerData = {
    binned: [],
    nBins: new Int32Array(readers.length),
    hasMissing: new Uint8Array(readers.length),
    edges: [],
    gradients: new Float64Array(n),
    hessians: new Float64Array(n),
    dense: new Int32Array(0),
    oneHot: [],
  };
  const dense: number[] = [];
  const blocks = new Map<Int32Array, number[]>();
  readers.forEach((reader, c) => {
    const read = (r: number) => readColumn(reader, r);
    let edges: Float64Array;
    if (reader.codes) {
      // A one-hot column holds 0 and 1 only: one edge at 0.5, or none when it is constant.
      let ones = 0;
      for (const r of fitRows) ones += reader.codes[r] === reader.code ? 1 : 0;
      edges = ones > 0 && ones < fitRows.length ? Float64Array.of(0.5) : new Float64Array(0);
      if (edges.length) {
        const block = blocks.get(reader.codes) ?? [];
        block[reader.code] = c;
        blocks.set(reader.codes, block);
      } else dense.push(c);
    } else {
      edges = binEdges(read, fitRows, params.maxBins, rng);
      dense.push(c);
    }
    const binned = binValues(read, n, edges);
    data.edges.push(edges);
    data.binned.push(binned);
    data.nBins[c] = edges.length + 1;
    data.hasMissing[c] = fitRows.some((r) => binned[r] === edges.length + 1) ? 1 : 0;
  });
  data.dense = Int32Array.from(dense);
  for (const [codes, block] of blocks) {
    // Categories whose column is constant (histogrammed densely, or not at all) map to -1.
    const columns = Int32Array.from({ length: block.length }, (_, code) => block[code] ?? -1);
    data.oneHot.push({ codes, columns });
  }
  const pool = new Histograms(data.nBins);
  await control.pace();

  let positives = 0;
  for (const r of fitRows) positives += y[r]!;
  const eps = 10 * Number.EPSILON;
  const rate = Math.min(1 - eps, Math.max(eps, positives / fitRows.length));
  const baseScore = Math.fround(Math.log(rate / (1 - rate)));
  const raw = new Float64Array(n).fill(baseScore);
  const meanLoss = (rows: Uint32Array) => {
    let s = 0;
    for (const r of rows) s += softplus(raw[r]!) - (y[r] ? raw[r]! : 0);
    return s / rows.length;
  };

  const trees: Tree[] = [];
  const validationScores = earlyStopping ? [-meanLoss(validationRows)] : [];
  let earlyStopped = false;
  for (let iteration = 1; iteration <= params.maxIter; iteration++) {
    // float32 gradients and hessians (summed in float64), unrounded leaf values in the running raw
    // scores: scikit-learn's arithmetic, so near-tie splits resolve the same way and results track
    // theirs. The exported trees hold float32 leaves; that rounding moves a probability by ~1e-7.
    for (const r of fitRows) {
      const p = sigmoid(raw[r]!);
      data.gradients[r] = Math.fround(p - y[r]!);
      data.hessians[r] = Math.fround(p * (1 - p));
    }
    const partition = fitRows.slice();
    const { tree, leaves } = growTree(data, partition, params, pool);
    trees.push(tree);
    for (const leaf of leaves) {
      const v = leaf.leafValue!;
      for (let k = leaf.start; k < leaf.stop; k++) raw[partition[k]!]! += v;
    }
    for (const r of validationRows) raw[r]! += treeValue(tree, (f) => readColumn(readers[f]!, r));

    const loss = meanLoss(fitRows);
    const validationLoss = earlyStopping ? meanLoss(validationRows) : undefined;
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
  return { baseScore, trees, earlyStopped };
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
