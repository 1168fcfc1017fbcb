import { dot, maxAbs, solveSpd } from './linalg';
import type { LogisticRegressionParams } from './spec';

/**
 * L2-regularised logistic regression as scikit-learn defines it: minimise
 *   ||w||^2 / 2 + C * sum_i [log(1 + exp(z_i)) - y_i z_i],   z_i = w . x_i + b   (b not penalised).
 * We minimise the same objective divided by C * n (a mean loss, as scikit-learn's solvers do, so
 * `tol` means what scikit-learn's does: the max-norm of this objective's gradient). L-BFGS by
 * default (scikit-learn's lbfgs: the same stopping rule), Newton with an exact Hessian on request.
 * Both converge to the unique optimum; they differ only in cost per iteration (L-BFGS: one pass over
 * the rows computing loss and gradient together; Newton: also the Hessian, columns squared per row).
 */
export type LogisticFit = { coef: Float64Array; intercept: number; iterations: number; converged: boolean; objective: number };

export type FitCallbacks = { onIteration?: (iteration: number, objective: number) => Promise<void> | void };

type SolverParams = Pick<LogisticRegressionParams, 'maxIter' | 'tol'>;

/** X: n x d row-major; y: 0/1. */
export async function fitLogisticRegression(
  X: Float64Array,
  y: Uint8Array,
  d: number,
  params: Pick<LogisticRegressionParams, 'C' | 'maxIter' | 'tol' | 'solver'>,
  callbacks: FitCallbacks = {},
): Promise<LogisticFit> {
  const problem = new Problem(X, y, d, params.C);
  return params.solver === 'newton' ? newton(problem, params, callbacks) : lbfgs(problem, params, callbacks);
}

/**
 * Iterations a fit may take: `maxIter` for Newton; L-BFGS needs more, cheaper iterations and gets
 * 10x (the shared default of 100 must not cut short a slowly converging fit). Progress reports it.
 */
export const iterationBudget = (params: Pick<LogisticRegressionParams, 'maxIter' | 'solver'>) => (params.solver === 'newton' ? params.maxIter : params.maxIter * 10);

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
  /** Per-row (p - y) at the theta last evaluated, for the Newton Hessian. */
  private readonly p: Float64Array;
  constructor(
    readonly X: Float64Array,
    readonly y: Uint8Array,
    readonly d: number,
    readonly C: number,
  ) {
    this.n = y.length;
    this.m = d + 1;
    this.p = new Float64Array(this.n);
  }

  /**
   * The objective at theta = [w_0..w_{d-1}, b], its gradient written into g: one pass over the rows
   * (each row's linear predictor, loss and gradient terms while the row is in cache), one exp and
   * one log1p per row, no allocation.
   */
  evaluate(theta: Float64Array, g: Float64Array): number {
    const { X, y, d, n, p } = this;
    g.fill(0);
    const b = theta[d]!;
    let loss = 0;
    let gb = 0;
    for (let i = 0, base = 0; i < n; i++, base += d) {
      let z = b;
      for (let j = 0; j < d; j++) z += X[base + j]! * theta[j]!;
      const e = Math.exp(-Math.abs(z));
      const yi = y[i]!;
      loss += (z > 0 ? z : 0) + Math.log1p(e) - (yi ? z : 0);
      const prob = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      p[i] = prob;
      const r = prob - yi;
      gb += r;
      if (r === 0) continue;
      for (let j = 0; j < d; j++) g[j] = g[j]! + r * X[base + j]!;
    }
    const reg = 1 / (this.C * n);
    let ww = 0;
    for (let j = 0; j < d; j++) {
      const w = theta[j]!;
      ww += w * w;
      g[j] = g[j]! / n + w * reg;
    }
    g[d] = gb / n;
    return loss / n + ww * reg * 0.5;
  }

  /** Hessian of the mean objective at the theta last passed to evaluate() (row-major m x m). */
  hessian(): Float64Array {
    const { X, d, n, m, p } = this;
    const H = new Float64Array(m * m);
    // The Hessian sums s_i x_i x_i^T over rows; one-hot blocks make rows mostly zeros, so the
    // outer product runs over each row's nonzero entries only (the intercept's 1 included).
    const nz = new Int32Array(m);
    const nzValue = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const s = p[i]! * (1 - p[i]!);
      if (s === 0) continue;
      const base = i * d;
      let k = 0;
      for (let j = 0; j < d; j++) {
        const x = X[base + j]!;
        if (x === 0) continue;
        nz[k] = j;
        nzValue[k++] = x;
      }
      nz[k] = d;
      nzValue[k++] = 1;
      for (let a = 0; a < k; a++) {
        const sa = s * nzValue[a]!;
        const row = nz[a]! * m;
        for (let c = a; c < k; c++) H[row + nz[c]!]! += sa * nzValue[c]!;
      }
    }
    const reg = 1 / (this.C * n);
    for (let a = 0; a < m; a++) {
      for (let c = a; c < m; c++) {
        const v = H[a * m + c]! / n + (a === c && a < d ? reg : 0);
        H[a * m + c] = v;
        H[c * m + a] = v;
      }
    }
    return H;
  }
}

async function newton(problem: Problem, params: SolverParams, cb: FitCallbacks): Promise<LogisticFit> {
  const { m } = problem;
  let theta: Float64Array = new Float64Array(m);
  let g: Float64Array = new Float64Array(m);
  let f = problem.evaluate(theta, g);
  const search = new LineSearch(problem);
  let iterations = 0;
  let converged = false;
  for (; iterations < params.maxIter; iterations++) {
    if (maxAbs(g) < params.tol) {
      converged = true;
      break;
    }
    const step = solveSpd(problem.hessian(), g, m).map((v) => -v);
    if (!search.run(theta, f, g, step, 1)) {
      // No decrease representable in float64: we are at the optimum to machine precision.
      converged = true;
      break;
    }
    [theta, search.theta] = [search.theta, theta];
    [g, search.g] = [search.g, g];
    f = search.f;
    await cb.onIteration?.(iterations + 1, f);
  }
  return finish(problem, theta, f, iterations, converged);
}

/** scipy's L-BFGS-B default `ftol` as scikit-learn passes it: stop when f stops decreasing relatively. */
const FTOL = 64 * Number.EPSILON;
const MEMORY = 10;

/**
 * L-BFGS (Nocedal & Wright, algorithm 7.4) with scikit-learn's lbfgs stopping rule: converged when
 * the gradient's max-norm is at most `tol`, or when an iteration lowers the objective by at most
 * FTOL relative to it. The first step is 1 / ||g|| along -g, as scipy's. The objective is strictly
 * convex in w and convex in b, so every accepted step keeps s.y > 0 and a backtracking (Armijo)
 * search suffices. Iterations count as scikit-learn's `n_iter_` does; the budget is iterationBudget's.
 */
async function lbfgs(problem: Problem, params: SolverParams, cb: FitCallbacks): Promise<LogisticFit> {
  const { m } = problem;
  const history = new History(m, MEMORY);
  const direction = new Float64Array(m);
  let theta: Float64Array = new Float64Array(m);
  let g: Float64Array = new Float64Array(m);
  let f = problem.evaluate(theta, g);
  const search = new LineSearch(problem);
  let iterations = 0;
  let converged = false;
  for (const budget = iterationBudget({ ...params, solver: 'lbfgs' }); iterations < budget; iterations++) {
    if (maxAbs(g) <= params.tol) {
      converged = true;
      break;
    }
    history.direction(g, direction);
    const initial = history.size === 0 ? 1 / Math.sqrt(dot(g, g)) : 1;
    if (!search.run(theta, f, g, direction, initial)) {
      // No decrease representable in float64 along a descent direction: the optimum to rounding.
      converged = true;
      break;
    }
    history.push(search.theta, theta, search.g, g);
    const previous = f;
    [theta, search.theta] = [search.theta, theta];
    [g, search.g] = [search.g, g];
    f = search.f;
    await cb.onIteration?.(iterations + 1, f);
    if ((previous - f) / Math.max(Math.abs(previous), Math.abs(f), 1) <= FTOL) {
      iterations++;
      converged = true;
      break;
    }
  }
  return finish(problem, theta, f, iterations, converged);
}

/** The last `memory` pairs s = theta' - theta, y = g' - g in ring buffers, and the two-loop recursion. */
class History {
  size = 0;
  private next = 0;
  private readonly S: Float64Array;
  private readonly Y: Float64Array;
  private readonly rho: Float64Array;
  private readonly alpha: Float64Array;
  constructor(
    private readonly m: number,
    private readonly memory: number,
  ) {
    this.S = new Float64Array(memory * m);
    this.Y = new Float64Array(memory * m);
    this.rho = new Float64Array(memory);
    this.alpha = new Float64Array(memory);
  }

  push(theta2: Float64Array, theta: Float64Array, g2: Float64Array, g: Float64Array) {
    const { m, S, Y } = this;
    const at = this.next * m;
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < m; i++) {
      const s = theta2[i]! - theta[i]!;
      const yv = g2[i]! - g[i]!;
      S[at + i] = s;
      Y[at + i] = yv;
      sy += s * yv;
      yy += yv * yv;
    }
    // A pair without curvature (rounding at the optimum) would make the next direction uphill: skip it.
    if (!(sy > 1e-12 * yy)) return;
    this.rho[this.next] = 1 / sy;
    this.next = (this.next + 1) % this.memory;
    this.size = Math.min(this.size + 1, this.memory);
  }

  /** out = -H g, H the L-BFGS inverse Hessian estimate (scaled by s.y / y.y of the newest pair). */
  direction(g: Float64Array, out: Float64Array) {
    const { m, S, Y, rho, alpha, memory, size } = this;
    out.set(g);
    const slot = (k: number) => (this.next - 1 - k + memory) % memory;
    for (let k = 0; k < size; k++) {
      const at = slot(k) * m;
      let a = 0;
      for (let i = 0; i < m; i++) a += S[at + i]! * out[i]!;
      a *= rho[slot(k)]!;
      alpha[k] = a;
      for (let i = 0; i < m; i++) out[i] = out[i]! - a * Y[at + i]!;
    }
    if (size > 0) {
      const at = slot(0) * m;
      let yy = 0;
      for (let i = 0; i < m; i++) yy += Y[at + i]! * Y[at + i]!;
      const gamma = 1 / (rho[slot(0)]! * yy);
      for (let i = 0; i < m; i++) out[i] = out[i]! * gamma;
    }
    for (let k = size - 1; k >= 0; k--) {
      const at = slot(k) * m;
      let b = 0;
      for (let i = 0; i < m; i++) b += Y[at + i]! * out[i]!;
      b = alpha[k]! - b * rho[slot(k)]!;
      for (let i = 0; i < m; i++) out[i] = out[i]! + S[at + i]! * b;
    }
    for (let i = 0; i < m; i++) out[i] = -out[i]!;
  }
}

/** Backtracking (Armijo) along a descent direction; its trial point, objective and gradient are reused buffers. */
class LineSearch {
  theta: Float64Array;
  g: Float64Array;
  f = 0;
  constructor(private readonly problem: Problem) {
    this.theta = new Float64Array(problem.m);
    this.g = new Float64Array(problem.m);
  }

  /** false when no step decreases the objective (then the problem's state is theta's again). */
  run(theta: Float64Array, f: number, g: Float64Array, direction: Float64Array, initial: number): boolean {
    const slope = dot(g, direction);
    if (!(slope < 0)) return false;
    for (let t = initial, k = 0; k < 40; k++, t /= 2) {
      for (let i = 0; i < theta.length; i++) this.theta[i] = theta[i]! + t * direction[i]!;
      this.f = this.problem.evaluate(this.theta, this.g);
      if (this.f <= f + 1e-4 * t * slope) return true;
    }
    this.problem.evaluate(theta, this.g);
    return false;
  }
}

function finish(problem: Problem, theta: Float64Array, objective: number, iterations: number, converged: boolean): LogisticFit {
  return { coef: theta.slice(0, problem.d), intercept: theta[problem.d]!, iterations, converged, objective };
}
