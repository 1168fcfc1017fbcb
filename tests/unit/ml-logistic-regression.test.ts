import { describe, expect, it } from 'vitest';
import { fitLogisticRegression, sigmoid } from '@/server/ml/logistic-regression';
import { seededRandom } from '@/server/ml/random';
import { LogisticRegressionParams } from '@/server/ml/spec';

const logit = (p: number) => Math.log(p / (1 - p));

/** 20 rows, 2 features: the reference solutions below come from scikit-learn 1.9.1 (LogisticRegression, tol=1e-12). */
const X20 = Float64Array.from(Array.from({ length: 20 }, (_, i) => [(i / 19) * 4 - 2, Math.sin(i)]).flat());
const y20 = Uint8Array.from(Array.from({ length: 20 }, (_, i) => (X20[2 * i]! + 0.5 * X20[2 * i + 1]! + 0.8 * Math.cos(3 * i) > 0 ? 1 : 0)));
const sklearn = [
  { C: 1, coef: [1.7450347377018147, 0.6323148546876359], intercept: -0.3837550229980607 },
  { C: 0.1, coef: [0.5864266515779113, 0.08904961970979629], intercept: -0.22506492246421028 },
];

describe('logistic regression', () => {
  it('matches the closed-form maximum likelihood for one binary feature when regularisation vanishes', async () => {
    // Group x=0: 30% positive; group x=1: 70% positive. MLE: b = logit(0.3), w = logit(0.7) - logit(0.3).
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 200; i++) {
      x.push(i < 100 ? 0 : 1);
      y.push(i % 100 < (i < 100 ? 30 : 70) ? 1 : 0);
    }
    for (const solver of ['newton', 'lbfgs'] as const) {
      const fit = await fitLogisticRegression(Float64Array.from(x), Uint8Array.from(y), 1, { C: 1e12, maxIter: 100, tol: 1e-10, solver });
      expect(fit.converged).toBe(true);
      expect(fit.intercept).toBeCloseTo(logit(0.3), 6);
      expect(fit.coef[0]).toBeCloseTo(logit(0.7) - logit(0.3), 6);
    }
  });

  it("matches scikit-learn's L2-regularised solution for C = 1 and C = 0.1", async () => {
    for (const ref of sklearn) {
      for (const solver of ['newton', 'lbfgs'] as const) {
        const fit = await fitLogisticRegression(X20, y20, 2, { C: ref.C, maxIter: 100, tol: 1e-10, solver });
        expect(fit.converged).toBe(true);
        expect(fit.coef[0]).toBeCloseTo(ref.coef[0]!, 6);
        expect(fit.coef[1]).toBeCloseTo(ref.coef[1]!, 6);
        expect(fit.intercept).toBeCloseTo(ref.intercept, 6);
      }
    }
  });

  it('satisfies the optimality condition w = C * X^T (y - p) and the intercept condition sum(p) = sum(y)', async () => {
    const rng = seededRandom(7);
    const n = 500;
    const d = 6;
    const X = Float64Array.from({ length: n * d }, () => rng.next() * 2 - 1);
    const y = Uint8Array.from({ length: n }, (_, i) => (rng.next() < sigmoid(2 * X[i * d]! - X[i * d + 1]!) ? 1 : 0));
    const C = 0.5;
    const fit = await fitLogisticRegression(X, y, d, { C, maxIter: 100, tol: 1e-12, solver: 'newton' });
    const residual = new Float64Array(d);
    let sumResidual = 0;
    for (let i = 0; i < n; i++) {
      let z = fit.intercept;
      for (let j = 0; j < d; j++) z += fit.coef[j]! * X[i * d + j]!;
      const r = y[i]! - sigmoid(z);
      sumResidual += r;
      for (let j = 0; j < d; j++) residual[j]! += r * X[i * d + j]!;
    }
    for (let j = 0; j < d; j++) expect(fit.coef[j]).toBeCloseTo(C * residual[j]!, 8);
    expect(sumResidual).toBeCloseTo(0, 8);
  });

  it('Newton and L-BFGS reach the same optimum on wider data', async () => {
    const rng = seededRandom(11);
    const n = 400;
    const d = 30;
    const X = Float64Array.from({ length: n * d }, () => (rng.next() < 0.2 ? 1 : 0) + rng.next() * 0.1);
    const y = Uint8Array.from({ length: n }, (_, i) => (X[i * d]! + X[i * d + 3]! + rng.next() > 1 ? 1 : 0));
    const params = { C: 1, maxIter: 100, tol: 1e-9 };
    const newton = await fitLogisticRegression(X, y, d, { ...params, solver: 'newton' });
    const lbfgs = await fitLogisticRegression(X, y, d, { ...params, solver: 'lbfgs' });
    expect(newton.converged && lbfgs.converged).toBe(true);
    for (let j = 0; j < d; j++) expect(lbfgs.coef[j]).toBeCloseTo(newton.coef[j]!, 5);
    expect(lbfgs.objective).toBeCloseTo(newton.objective, 10);
  });

  it("the default solver (L-BFGS, default tol) reaches Newton's optimum on a one-hot-heavy, weakly regularised design", async () => {
    // Standardised numeric columns plus one-hot blocks with rare levels and C = 100: the kind of
    // ill-conditioned problem where a first-order method stops short if its stopping rule is loose.
    const rng = seededRandom(13);
    const n = 600;
    const numeric = 5;
    const levels = [3, 8, 15];
    const d = numeric + levels.reduce((a, b) => a + b, 0);
    const X = new Float64Array(n * d);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let z = -0.5;
      for (let j = 0; j < numeric; j++) {
        X[i * d + j] = rng.next() * 3.4 - 1.7;
        z += (j - 2) * 0.6 * X[i * d + j]!;
      }
      let at = numeric;
      for (const l of levels) {
        const level = Math.floor(rng.next() ** 2 * l);
        X[i * d + at + level] = 1;
        z += (level % 3) - 1;
        at += l;
      }
      y[i] = rng.next() < sigmoid(z) ? 1 : 0;
    }
    const defaults = LogisticRegressionParams.parse({ C: 100 });
    const fit = await fitLogisticRegression(X, y, d, defaults);
    const exact = await fitLogisticRegression(X, y, d, { C: 100, maxIter: 100, tol: 1e-10, solver: 'newton' });
    expect(fit.converged && exact.converged).toBe(true);
    expect(Math.abs(fit.objective - exact.objective)).toBeLessThan(1e-12);
    for (let j = 0; j < d; j++) expect(fit.coef[j]).toBeCloseTo(exact.coef[j]!, 4);
    expect(fit.intercept).toBeCloseTo(exact.intercept, 4);
  });

  it('stays finite on perfectly separable data (the penalty bounds the coefficients)', async () => {
    const X = Float64Array.from({ length: 40 }, (_, i) => (i < 20 ? -1 - i : 1 + i));
    const y = Uint8Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : 1));
    const fit = await fitLogisticRegression(X, y, 1, { C: 1, maxIter: 100, tol: 1e-10, solver: 'auto' });
    expect(fit.converged).toBe(true);
    expect(Number.isFinite(fit.coef[0]!) && fit.coef[0]! > 0).toBe(true);
  });
});
