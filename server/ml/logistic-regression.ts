import { dot, maxAbs, solveSpd } from './linalg';
import type { LogisticRegressionParams } from './spec';

/**
 * L2-regularised logistic regression as scikit-learn defines it: minimise
 *   ||w||^2 / 2 + C * sum_i [log(1 + exp(z_i)) - y_i z_i],   z_i = w . x_i + b   (b not penalised).
 * We minimise the same objective divided by C * n (a mean loss, so tolerances do not depend on n):
 * Newton's method with an exact Hessian and a backtracking line search for narrow data, L-BFGS for
 * wide data. Both converge to the unique optimum; they differ only in cost per iteration.
 */
export type LogisticFit = { coef: Float64Array; intercept: number; iterations: number; converged: boolean; objective: number };

export type FitCallbacks = { onIteration?: (iteration: number, objective: number) => Promise<void> | void };

/** X: n x d row-major; y: 0/1. */
export async function fitLogisticRegression(
  X: Float64Array,
  y: Uint8Array,
  d: number,
  params: Pick<LogisticRegressionParams, 'C' | 'maxIter' | 'tol' | 'solver'>,
  callbacks: FitCallbacks = {},
): Promise<LogisticFit> {
  const problem = new Problem(X, y, d, params.C);
  const solver = params.solver === 'auto' ? (d <= 200 ? 'newton' : 'lbfgs') : params.solver;
  return solver === 'newton' ? newton(problem, params, callbacks) : lbfgs(problem, params, callbacks);
}

/** log(1 + e^z) without overflow. */
export const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
export const sigmoid = (z: number) => {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
};

class Problem {
  readonly n: number;
  readonly m: number;
  private readonly z: Float64Array;
  constructor(
    readonly X: Float64Array,
    readonly y: Uint8Array,
    readonly d: number,
    readonly C: number,
  ) {
    this.n = y.length;
    this.m = d + 1;
    this.z = new Float64Array(this.n);
  }

  /** theta = [w_0..w_{d-1}, b]. Leaves z (linear predictor) for the last theta evaluated. */
  objective(theta: Float64Array): number {
    const { X, y, d, n, z } = this;
    let loss = 0;
    const b = theta[d]!;
    for (let i = 0; i < n; i++) {
      let s = b;
      const base = i * d;
      for (let j = 0; j < d; j++) s += X[base + j]! * theta[j]!;
      z[i] = s;
      loss += softplus(s) - (y[i] ? s : 0);
    }
    let ww = 0;
    for (let j = 0; j < d; j++) ww += theta[j]! ** 2;
    return loss / n + ww / (2 * this.C * n);
  }

  /** Gradient (and Hessian) at the theta last passed to objective(). */
  gradient(theta: Float64Array, withHessian: boolean): { g: Float64Array; H?: Float64Array } {
    const { X, y, d, n, m, z } = this;
    const g = new Float64Array(m);
    const H = withHessian ? new Float64Array(m * m) : undefined;
    // The Hessian sums s_i x_i x_i^T over rows; one-hot blocks make rows mostly zeros, so the
    // outer product runs over each row's nonzero entries only (the intercept's 1 included).
    const nz = new Int32Array(m);
    const nzValue = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i]!);
      const r = p - y[i]!;
      const base = i * d;
      let k = 0;
      for (let j = 0; j < d; j++) {
        const x = X[base + j]!;
        if (x === 0) continue;
        g[j]! += r * x;
        nz[k] = j;
        nzValue[k++] = x;
      }
      g[d]! += r;
      if (!H) continue;
      nz[k] = d;
      nzValue[k++] = 1;
      const s = p * (1 - p);
      if (s === 0) continue;
      for (let a = 0; a < k; a++) {
        const sa = s * nzValue[a]!;
        const row = nz[a]! * m;
        for (let c = a; c < k; c++) H[row + nz[c]!]! += sa * nzValue[c]!;
      }
    }
    const reg = 1 / (this.C * n);
    for (let j = 0; j < m; j++) g[j] = g[j]! / n + (j < d ? theta[j]! * reg : 0);
    if (H) {
      for (let a = 0; a < m; a++) {
        for (let c = a; c < m; c++) {
          const v = H[a * m + c]! / n + (a === c && a < d ? reg : 0);
          H[a * m + c] = v;
          H[c * m + a] = v;
        }
      }
    }
    return { g, H };
  }
}

async function newton(problem: Problem, params: Pick<LogisticRegressionParams, 'maxIter' | 'tol'>, cb: FitCallbacks): Promise<LogisticFit> {
  let theta = new Float64Array(problem.m);
  let f = problem.objective(theta);
  let iterations = 0;
  let converged = false;
  for (; iterations < params.maxIter; iterations++) {
    const { g, H } = problem.gradient(theta, true);
    if (maxAbs(g) < params.tol) {
      converged = true;
      break;
    }
    const step = solveSpd(H!, g, problem.m).map((v) => -v);
    const next = lineSearch(problem, theta, f, g, step);
    if (!next) {
      // No decrease representable in float64: we are at the optimum to machine precision.
      converged = true;
      break;
    }
    theta = next.theta;
    f = next.f;
    await cb.onIteration?.(iterations + 1, f);
  }
  return finish(problem, theta, f, iterations, converged);
}

async function lbfgs(problem: Problem, params: Pick<LogisticRegressionParams, 'maxIter' | 'tol'>, cb: FitCallbacks): Promise<LogisticFit> {
  const memory = 10;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let theta = new Float64Array(problem.m);
  let f = problem.objective(theta);
  let { g } = problem.gradient(theta, false);
  let iterations = 0;
  let converged = false;
  // L-BFGS needs more, cheaper iterations than Newton: allow 10x the configured budget.
  for (; iterations < params.maxIter * 10; iterations++) {
    if (maxAbs(g) < params.tol) {
      converged = true;
      break;
    }
    const direction = twoLoop(g, S, Y);
    const next = lineSearch(problem, theta, f, g, direction);
    if (!next) {
      converged = maxAbs(g) < Math.sqrt(params.tol);
      break;
    }
    const g2 = problem.gradient(next.theta, false).g;
    const s = next.theta.map((v, i) => v - theta[i]!);
    const yv = g2.map((v, i) => v - g[i]!);
    if (dot(s, yv) > 1e-12 * dot(yv, yv)) {
      S.push(s);
      Y.push(yv);
      if (S.length > memory) {
        S.shift();
        Y.shift();
      }
    }
    theta = next.theta;
    f = next.f;
    g = g2;
    await cb.onIteration?.(iterations + 1, f);
  }
  return finish(problem, theta, f, iterations, converged);
}

function twoLoop(g: Float64Array, S: Float64Array[], Y: Float64Array[]): Float64Array {
  const q = g.slice();
  const alpha: number[] = [];
  for (let k = S.length - 1; k >= 0; k--) {
    const a = dot(S[k]!, q) / dot(Y[k]!, S[k]!);
    alpha[k] = a;
    for (let i = 0; i < q.length; i++) q[i] = q[i]! - a * Y[k]![i]!;
  }
  const last = S.length - 1;
  const gamma = last >= 0 ? dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!) : 1 / Math.max(1, maxAbs(g));
  for (let i = 0; i < q.length; i++) q[i] = q[i]! * gamma;
  for (let k = 0; k < S.length; k++) {
    const b = dot(Y[k]!, q) / dot(Y[k]!, S[k]!);
    for (let i = 0; i < q.length; i++) q[i] = q[i]! + S[k]![i]! * (alpha[k]! - b);
  }
  return q.map((v) => -v);
}

/** Backtracking (Armijo) along a descent direction; null when no step decreases the objective. */
function lineSearch(problem: Problem, theta: Float64Array, f: number, g: Float64Array, direction: Float64Array) {
  const slope = dot(g, direction);
  if (!(slope < 0)) return null;
  for (let t = 1, k = 0; k < 40; k++, t /= 2) {
    const candidate = theta.map((v, i) => v + t * direction[i]!);
    const fc = problem.objective(candidate);
    if (fc <= f + 1e-4 * t * slope) return { theta: candidate, f: fc };
  }
  problem.objective(theta);
  return null;
}

function finish(problem: Problem, theta: Float64Array, objective: number, iterations: number, converged: boolean): LogisticFit {
  return { coef: theta.slice(0, problem.d), intercept: theta[problem.d]!, iterations, converged, objective };
}
