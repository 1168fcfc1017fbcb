import { describe, expect, it } from 'vitest';
import { aucWithInterval, calibrationCurve, logLoss, normalQuantile, rocCurve, thresholdMetrics } from '@/server/ml/metrics';
import { seededRandom } from '@/server/ml/random';

/** O(mn) references: AUC as P(score_pos > score_neg) + P(tie) / 2, and DeLong's variance. */
function bruteForce(y: number[], p: number[]) {
  const pos = p.filter((_, i) => y[i]);
  const neg = p.filter((_, i) => !y[i]);
  const psi = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
  const v10 = pos.map((a) => neg.reduce((s, b) => s + psi(a, b), 0) / neg.length);
  const v01 = neg.map((b) => pos.reduce((s, a) => s + psi(a, b), 0) / pos.length);
  const auc = v10.reduce((a, b) => a + b, 0) / pos.length;
  const variance = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
  };
  return { auc, se: Math.sqrt(variance(v10) / pos.length + variance(v01) / neg.length) };
}

describe('metrics', () => {
  const rng = seededRandom(4);
  const y = Array.from({ length: 300 }, () => (rng.next() < 0.3 ? 1 : 0));
  // Scores rounded to 2 decimals so there are many ties.
  const p = y.map((v) => Math.round((v ? 0.25 : 0) * 100 + rng.next() * 75) / 100);

  it('computes AUC with ties and a DeLong interval equal to the O(mn) definitions', () => {
    const ref = bruteForce(y, p);
    const got = aucWithInterval(y, p);
    expect(got.auc).toBeCloseTo(ref.auc, 12);
    expect(got.standardError).toBeCloseTo(ref.se, 12);
    expect(got.lower).toBeCloseTo(ref.auc - 1.959963984540054 * ref.se, 9);
    expect(got.upper).toBeCloseTo(ref.auc + 1.959963984540054 * ref.se, 9);
  });

  it('gives AUC 1 and 0.5 in the obvious cases', () => {
    expect(aucWithInterval([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]).auc).toBe(1);
    expect(aucWithInterval([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]).auc).toBe(0.5);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
  });

  it('computes log loss, clipping certain mistakes', () => {
    expect(logLoss([1, 0], [0.8, 0.2])).toBeCloseTo(-Math.log(0.8), 12);
    expect(Number.isFinite(logLoss([1], [0]))).toBe(true);
  });

  it('counts the confusion matrix at a threshold (predicted positive when p >= threshold)', () => {
    const m = thresholdMetrics([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.1, 0.5], 0.5);
    expect(m).toMatchObject({ truePositives: 2, falseNegatives: 1, falsePositives: 1, trueNegatives: 1 });
    expect(m.precision).toBeCloseTo(2 / 3);
    expect(m.recall).toBeCloseTo(2 / 3);
    expect(m.f1).toBeCloseTo(2 / 3);
    expect(m.accuracy).toBeCloseTo(3 / 5);
  });

  it('draws the ROC curve from (0,0) to (1,1), at most 200 points, monotone', () => {
    const big = seededRandom(8);
    const yy = Array.from({ length: 5000 }, () => (big.next() < 0.5 ? 1 : 0));
    const pp = yy.map((v) => v * 0.2 + big.next());
    const roc = rocCurve(yy, pp);
    expect(roc.length).toBeLessThanOrEqual(200);
    expect(roc[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    for (let i = 1; i < roc.length; i++) {
      expect(roc[i]!.fpr).toBeGreaterThanOrEqual(roc[i - 1]!.fpr);
      expect(roc[i]!.tpr).toBeGreaterThanOrEqual(roc[i - 1]!.tpr);
    }
    expect(rocCurve([0, 1, 1], [0.2, 0.2, 0.9])).toEqual([
      { fpr: 0, tpr: 0, threshold: Infinity },
      { fpr: 0, tpr: 0.5, threshold: 0.9 },
      { fpr: 1, tpr: 1, threshold: 0.2 },
    ]);
  });

  it('bins predictions into 10 calibration bins', () => {
    const bins = calibrationCurve([0, 1, 1, 0], [0.05, 0.95, 1, 0.91]);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toMatchObject({ count: 1, meanPredicted: 0.05, fractionPositive: 0 });
    expect(bins[9]!.count).toBe(3);
    expect(bins[9]!.fractionPositive).toBeCloseTo(2 / 3);
    expect(bins[5]).toMatchObject({ count: 0, meanPredicted: null, fractionPositive: null });
  });
});
