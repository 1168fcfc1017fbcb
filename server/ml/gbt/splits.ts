/**
 * Split finding on one node's histogram (scikit-learn's splitting.pyx): numeric features at a bin
 * threshold, missing values tried on both sides; categorical features by a set of categories.
 */

export const MIN_HESSIAN_TO_SPLIT = 1e-3;
/**
 * Categorical splits (scikit-learn's MIN_CAT_SUPPORT, LightGBM's cat_smooth): categories with less
 * hessian than this in a node are not candidates for the left set (they go right), and it smooths
 * the gradient/hessian ratio categories are sorted by.
 */
export const MIN_CAT_SUPPORT = 10;

export type SplitInfo = {
  gain: number;
  feature: number;
  bin: number;
  missingGoLeft: boolean;
  gLeft: number;
  hLeft: number;
  /** A categorical split: the bins (category codes, and the missing bin if it goes left) sent left. */
  leftBins: number[] | null;
};

/** The node's value in log-odds, before the learning rate (scikit-learn's compute_node_value). */
export function nodeValue(g: number, h: number, l2: number): number {
  return -g / (h + l2 + 1e-15);
}

/** A node's split search: its histogram, totals, and the best split found so far (updated in place). */
export type SplitContext = { hist: Float64Array; n: number; G: number; H: number; l2: number; parentLoss: number; minLeaf: number; best: SplitInfo };

/**
 * Loss reduction of sending (gl, hl) left: a node's loss at value v is g * v (-g^2 / (h + l2) at
 * its optimum), and gain = parent - children. The parent's loss is at the node's value, 0 for the
 * root, as scikit-learn. A plain function (not a closure per node) so V8 inlines it into the scans.
 */
export function splitGain(parentLoss: number, G: number, H: number, l2: number, gl: number, hl: number): number {
  return parentLoss - gl * nodeValue(gl, hl, l2) - (G - gl) * nodeValue(G - gl, H - hl, l2);
}

function setBest(best: SplitInfo, gain: number, feature: number, bin: number, missingGoLeft: boolean, gLeft: number, hLeft: number, leftBins: number[] | null) {
  best.gain = gain;
  best.feature = feature;
  best.bin = bin;
  best.missingGoLeft = missingGoLeft;
  best.gLeft = gLeft;
  best.hLeft = hLeft;
  best.leftBins = leftBins;
}

export function numericSplit({ hist, n, G, H, l2, parentLoss, minLeaf, best }: SplitContext, f: number, off: number, nb: number, hasMissing: number): void {
  let featureBest = -1;
  // Left to right, missing values to the right. The last non-missing bin may go left only when
  // the feature has missing values (a split of missing against the rest).
  const end = nb - 1 + hasMissing;
  let gl = 0;
  let hl = 0;
  let nl = 0;
  for (let b = 0; b < end; b++) {
    const s = 3 * (off + b);
    gl += hist[s]!;
    hl += hist[s + 1]!;
    nl += hist[s + 2]!;
    if (nl < minLeaf) continue;
    if (n - nl < minLeaf) break;
    if (hl < MIN_HESSIAN_TO_SPLIT) continue;
    if (H - hl < MIN_HESSIAN_TO_SPLIT) break;
    const v = splitGain(parentLoss, G, H, l2, gl, hl);
    if (v > featureBest && v > 0) {
      featureBest = v;
      if (v > best.gain) setBest(best, v, f, b, false, gl, hl, null);
    }
  }
  if (!hasMissing) return;
  // Right to left, missing values to the left.
  let gr = 0;
  let hr = 0;
  let nr = 0;
  for (let b = nb - 2; b >= 0; b--) {
    const s = 3 * (off + b + 1);
    gr += hist[s]!;
    hr += hist[s + 1]!;
    nr += hist[s + 2]!;
    if (nr < minLeaf) continue;
    if (n - nr < minLeaf) break;
    if (hr < MIN_HESSIAN_TO_SPLIT) continue;
    if (H - hr < MIN_HESSIAN_TO_SPLIT) break;
    const v = splitGain(parentLoss, G, H, l2, G - gr, H - hr);
    if (v > featureBest && v > 0) {
      featureBest = v;
      if (v > best.gain) setBest(best, v, f, b, true, G - gr, H - hr, null);
    }
  }
}

/**
 * scikit-learn's (and LightGBM's) categorical split: the categories with enough support, sorted by
 * G / (H + MIN_CAT_SUPPORT), scanned as if ordered from each end up to the middle; the best prefix
 * goes left. Low-support categories always go right. Missing values (when seen) are one more category.
 */
export function categoricalSplit({ hist, n, G, H, l2, parentLoss, minLeaf, best }: SplitContext, f: number, off: number, nb: number, hasMissing: number): void {
  const supportFactor = n / H;
  const bins: number[] = [];
  const values: number[] = [];
  for (let b = 0; b < nb + hasMissing; b++) {
    const s = 3 * (off + b);
    const hb = hist[s + 1]!;
    if (hb * supportFactor < MIN_CAT_SUPPORT) continue;
    bins.push(b);
    values.push(hist[s]! / (hb + MIN_CAT_SUPPORT));
  }
  const m = bins.length;
  if (m <= 1) return;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  let found = -1;
  let foundDirection = 0;
  let foundGain = best.gain;
  let foundG = 0;
  let foundH = 0;
  for (const direction of [1, -1]) {
    const middle = direction === 1 ? (m + 1) >> 1 : ((m + 1) >> 1) - 1;
    let gl = 0;
    let hl = 0;
    let nl = 0;
    for (let i = 0; i < middle; i++) {
      const sorted = direction === 1 ? i : m - 1 - i;
      const s = 3 * (off + bins[order[sorted]!]!);
      gl += hist[s]!;
      hl += hist[s + 1]!;
      nl += hist[s + 2]!;
      if (nl < minLeaf || hl < MIN_HESSIAN_TO_SPLIT) continue;
      if (n - nl < minLeaf || H - hl < MIN_HESSIAN_TO_SPLIT) break;
      const v = splitGain(parentLoss, G, H, l2, gl, hl);
      if (v > foundGain && v > 0) {
        foundGain = v;
        found = sorted;
        foundDirection = direction;
        foundG = gl;
        foundH = hl;
      }
    }
  }
  if (found < 0) return;
  const picked = foundDirection === 1 ? order.slice(0, found + 1) : order.slice(found);
  const leftBins = picked.map((i) => bins[i]!).sort((a, b) => a - b);
  setBest(best, foundGain, f, -1, hasMissing === 1 && leftBins.includes(nb), foundG, foundH, leftBins);
}

