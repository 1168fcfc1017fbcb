/**
 * Binary classification metrics on a holdout: y is 0/1, p the predicted probability of class 1.
 */
import { confusionMetrics, type ThresholdMetrics } from '../domain/confusion';

/** Midranks (1-based, ties share their average rank). */
function midranks(xs: Float64Array): Float64Array {
  const order = Array.from(xs.keys()).sort((a, b) => xs[a]! - xs[b]!);
  const ranks = new Float64Array(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

export type AucWithInterval = { auc: number; lower: number; upper: number; standardError: number; level: number };

/**
 * ROC AUC (ties count one half) with DeLong's confidence interval, computed with midranks
 * (Sun & Xu 2014): O(n log n).
 */
export function aucWithInterval(y: ArrayLike<number>, p: ArrayLike<number>, level = 0.95): AucWithInterval {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < y.length; i++) (y[i] ? pos : neg).push(p[i]!);
  const m = pos.length;
  const n = neg.length;
  if (m === 0 || n === 0) return { auc: NaN, lower: NaN, upper: NaN, standardError: NaN, level };
  const all = Float64Array.from([...pos, ...neg]);
  const rAll = midranks(all);
  const rPos = midranks(Float64Array.from(pos));
  const rNeg = midranks(Float64Array.from(neg));
  let sumPosRanks = 0;
  for (let i = 0; i < m; i++) sumPosRanks += rAll[i]!;
  const auc = (sumPosRanks - (m * (m + 1)) / 2) / (m * n);
  // Structural components: V10_i = share of negatives below positive i; V01_j = share of positives above negative j.
  const v10 = Array.from({ length: m }, (_, i) => (rAll[i]! - rPos[i]!) / n);
  const v01 = Array.from({ length: n }, (_, j) => 1 - (rAll[m + j]! - rNeg[j]!) / m);
  const variance = (xs: number[]) => {
    if (xs.length < 2) return 0;
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  };
  const standardError = Math.sqrt(variance(v10) / m + variance(v01) / n);
  const z = normalQuantile(0.5 + level / 2);
  return { auc, lower: Math.max(0, auc - z * standardError), upper: Math.min(1, auc + z * standardError), standardError, level };
}

export const rocAuc = (y: ArrayLike<number>, p: ArrayLike<number>) => aucWithInterval(y, p).auc;

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
export function normalQuantile(q: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lowTail = 0.02425;
  const poly = (k: number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (q < lowTail) {
    const t = Math.sqrt(-2 * Math.log(q));
    return poly(c, t) / (poly(d, t) * t + 1);
  }
  if (q > 1 - lowTail) return -normalQuantile(1 - q);
  const t = q - 0.5;
  const r = t * t;
  return (poly(a, r) * t) / (poly(b, r) * r + 1);
}

/** Mean log loss, probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-15, Math.max(1e-15, p[i]!));
    s -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

export type { ThresholdMetrics };

/** Predicted positive when p >= threshold. Precision is 0 when nothing is predicted positive. */
export function thresholdMetrics(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): ThresholdMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = p[i]! >= threshold;
    if (y[i]) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return confusionMetrics(threshold, tp, fp, tn, fn);
}

export type RocPoint = { fpr: number; tpr: number; threshold: number };

/**
 * The ROC curve at every distinct score (from (0,0) to (1,1)), thinned to at most maxPoints by
 * keeping evenly spaced points plus both ends.
 */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>, maxPoints = 200): RocPoint[] {
  const order = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => p[b]! - p[a]!);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  const negatives = y.length - positives;
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (y[i]) tp++;
    else fp++;
    const next = order[k + 1];
    if (next !== undefined && p[next] === p[i]) continue;
    points.push({ fpr: negatives ? fp / negatives : 0, tpr: positives ? tp / positives : 0, threshold: p[i]! });
  }
  if (points.length <= maxPoints) return points;
  const thinned: RocPoint[] = [];
  for (let k = 0; k < maxPoints; k++) thinned.push(points[Math.round((k * (points.length - 1)) / (maxPoints - 1))]!);
  return thinned;
}

export type CalibrationBin = { lower: number; upper: number; count: number; meanPredicted: number | null; fractionPositive: number | null };

/** Reliability diagram: `bins` equal-width bins of predicted probability (empty bins have nulls). */
export function calibrationCurve(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    count[b]!++;
    sumP[b]! += p[i]!;
    sumY[b]! += y[i] ? 1 : 0;
  }
  return Array.from({ length: bins }, (_, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: count[b]!,
    meanPredicted: count[b] ? sumP[b]! / count[b]! : null,
    fractionPositive: count[b] ? sumY[b]! / count[b]! : null,
  }));
}
