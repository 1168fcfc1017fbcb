/**
 * Solves A x = b for a symmetric positive definite A (row-major, m x m) by Cholesky. When rounding
 * makes A numerically indefinite, a growing ridge is added to the diagonal until it factors.
 */
export function solveSpd(A: Float64Array, b: Float64Array, m: number): Float64Array {
  let maxDiag = 0;
  for (let i = 0; i < m; i++) maxDiag = Math.max(maxDiag, Math.abs(A[i * m + i]!));
  for (let ridge = 0, attempt = 0; attempt < 20; attempt++, ridge = ridge === 0 ? 1e-12 * (maxDiag || 1) : ridge * 10) {
    const L = cholesky(A, m, ridge);
    if (L) return choleskySolve(L, b, m);
  }
  throw new Error('matrix is not positive definite even with a ridge');
}

function cholesky(A: Float64Array, m: number, ridge: number): Float64Array | null {
  const L = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let d = A[j * m + j]! + ridge;
    for (let k = 0; k < j; k++) d -= L[j * m + k]! ** 2;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    L[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = A[i * m + j]!;
      for (let k = 0; k < j; k++) s -= L[i * m + k]! * L[j * m + k]!;
      L[i * m + j] = s / ljj;
    }
  }
  return L;
}

function choleskySolve(L: Float64Array, b: Float64Array, m: number): Float64Array {
  const z = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * m + k]! * z[k]!;
    z[i] = s / L[i * m + i]!;
  }
  const x = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < m; k++) s -= L[k * m + i]! * x[k]!;
    x[i] = s / L[i * m + i]!;
  }
  return x;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}
