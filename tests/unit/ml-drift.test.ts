import { describe, expect, it } from 'vitest';
import { binOf, buildDriftReference, featureDrift, numericReference, predictionDrift, PREDICTION_EDGES } from '@/server/ml/drift-reference';
import { chiSquareSf, chiSquareTest, kolmogorovSf, ksTwoSample, logGamma, psi } from '@/server/ml/drift-stats';
import { seededRandom } from '@/server/ml/random';

// Reference values: closed forms (chi-square with 2 and 4 degrees of freedom), and scipy 1.13
// (scipy.stats.kstwobign.sf, chi2.sf, ks_2samp statistic).
describe('drift statistics', () => {
  it('computes the PSI of two histograms, flooring empty bins at epsilon', () => {
    expect(psi([0.5, 0.5], [0.6, 0.4])).toBeCloseTo(0.1 * Math.log(1.2) + 0.1 * Math.log(1.25), 12);
    expect(psi([0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25])).toBe(0);
    // An empty bin costs (0.5 - 1e-4) * ln(0.5 / 1e-4) instead of infinity.
    expect(psi([0.5, 0.5, 0], [0.5, 0, 0.5])).toBeCloseTo(2 * (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 10);
  });

  it('computes chi-square p-values as scipy does', () => {
    expect(chiSquareSf(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquareSf(5.991464547107979, 2)).toBeCloseTo(0.05, 10);
    expect(chiSquareSf(10, 2)).toBeCloseTo(Math.exp(-5), 12);
    expect(chiSquareSf(10, 4)).toBeCloseTo(6 * Math.exp(-5), 12);
    expect(chiSquareSf(30, 10)).toBeCloseTo(Math.exp(-15) * (1 + 15 + 112.5 + 562.5 + 2109.375), 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // scipy.stats.chisquare([10, 20, 30]): statistic 10, p = exp(-5)
    const t = chiSquareTest([10, 20, 30], [1 / 3, 1 / 3, 1 / 3]);
    expect(t.statistic).toBeCloseTo(10, 10);
    expect(t.pValue).toBeCloseTo(Math.exp(-5), 10);
  });

  it('computes the two-sample KS statistic and the Kolmogorov distribution', () => {
    expect(kolmogorovSf(1)).toBeCloseTo(0.2699996716773546, 12);
    expect(kolmogorovSf(1.3580986393225507)).toBeCloseTo(0.05, 10);
    expect(kolmogorovSf(0)).toBe(1);
    expect(ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]).statistic).toBe(0.5);
    expect(ksTwoSample([1, 2, 3], [1, 2, 3]).statistic).toBe(0);
    const rng = seededRandom(7);
    const rand = () => rng.next();
    const a = Array.from({ length: 2000 }, () => rand());
    const b = Array.from({ length: 2000 }, () => rand());
    const shifted = b.map((x) => x + 0.2);
    expect(ksTwoSample(a, b).pValue).toBeGreaterThan(0.01);
    const s = ksTwoSample(a, shifted);
    expect(s.statistic).toBeCloseTo(0.2, 1);
    expect(s.pValue).toBeLessThan(1e-10);
  });
});

describe('drift reference', () => {
  it('bins at the training deciles with a missing bin, and samples quantiles', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const ref = numericReference('x', [...xs, NaN, NaN]);
    expect(ref.edges).toHaveLength(9);
    expect(ref.proportions).toHaveLength(11);
    expect(ref.proportions[10]).toBeCloseTo(2 / 1002, 12);
    expect(ref.sample).toHaveLength(1000);
    expect(binOf(ref.edges, -5)).toBe(0);
    expect(binOf(ref.edges, 5000)).toBe(9);
    expect(binOf(ref.edges, NaN)).toBe(10);
  });

  it('finds no drift on the same distribution and a large one on a shifted one, for numbers, categories and predictions', () => {
    const rng = seededRandom(3);
    const rand = () => rng.next();
    const column = (n: number, shift: number) => Array.from({ length: n }, () => rand() * 10 + shift);
    const kinds = (n: number, pB: number) => Array.from({ length: n }, () => (rand() < pB ? 'b' : 'a'));
    const ref = buildDriftReference({ x: column(5000, 0), kind: kinds(5000, 0.3) }, [{ name: 'x', kind: 'numeric' }, { name: 'kind', kind: 'categorical' }], null, column(5000, 0).map((x) => x / 10));
    const [x, kind] = ref.features as [typeof ref.features[0], typeof ref.features[0]];
    const same = featureDrift(x, column(3000, 0));
    expect(same.psi).toBeLessThan(0.02);
    expect(same.test).toBe('ks');
    expect(same.pValue).toBeGreaterThan(0.001);
    const moved = featureDrift(x, column(3000, 4));
    expect(moved.psi).toBeGreaterThan(1);
    expect(moved.pValue).toBeLessThan(1e-10);
    expect(featureDrift(kind, kinds(3000, 0.3)).psi).toBeLessThan(0.01);
    const flipped = featureDrift(kind, kinds(3000, 0.8));
    expect(flipped.psi).toBeGreaterThan(0.5);
    expect(flipped.test).toBe('chi_square');
    expect(flipped.pValue).toBeLessThan(1e-10);
    // A category never seen in training lands in "other" and shows.
    expect(featureDrift(kind, Array.from({ length: 100 }, () => 'z')).psi).toBeGreaterThan(1);
    expect(ref.prediction?.edges).toEqual(PREDICTION_EDGES);
    expect(predictionDrift(ref.prediction!, column(3000, 0).map((x) => x / 10))).toBeLessThan(0.02);
    expect(predictionDrift(ref.prediction!, Array.from({ length: 3000 }, () => 0.95))).toBeGreaterThan(1);
  });
});
