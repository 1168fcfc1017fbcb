/**
 * The statistics of drift, pure: population stability index, two-sample Kolmogorov-Smirnov and
 * Pearson's chi-square goodness of fit, with their p-values.
 */

/** Proportions below this count as this much in the PSI (an empty bin would make it infinite). */
export const PSI_EPSILON = 1e-4;

/** PSI = sum over bins of (actual - expected) * ln(actual / expected), proportions floored at epsilon. */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new Error(`psi: ${expected.length} expected bins, ${actual.length} actual`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, epsilon);
    const a = Math.max(actual[i]!, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Counts as proportions (all zeros when the total is 0). */
export function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/**
 * The Kolmogorov distribution's survival function Q(λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²) (scipy's
 * `kstwobign.sf`).
 */
export function kolmogorovSf(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 0.2) return 1; // the series converges slowly here and the value is 1 to 1e-20
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 ? 1 : -1) * term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

export type TestResult = { statistic: number; pValue: number };

/**
 * Two-sample KS: D = sup |F1 - F2| over both samples (sorted copies; NaN ignored), p-value by the
 * asymptotic distribution with the small-sample correction of Stephens (Numerical Recipes:
 * Q((√en + 0.12 + 0.11/√en) D), en = n·m/(n+m)); within a few percent of the exact value once both
 * samples have more than ~30 values.
 */
export function ksTwoSample(a: readonly number[], b: readonly number[]): TestResult {
  const x = a.filter((v) => !Number.isNaN(v)).sort((p, q) => p - q);
  const y = b.filter((v) => !Number.isNaN(v)).sort((p, q) => p - q);
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { statistic: 0, pValue: 1 };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i]! <= v) i++;
    while (j < m && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovSf((en + 0.12 + 0.11 / en) * d) };
}

/** ln Γ(x), Lanczos (g = 7, n = 9), |error| < 1e-13 for x > 0. */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = c[0]!;
  for (let k = 1; k < 9; k++) s += c[k]! / (z + k);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** The regularised upper incomplete gamma Q(a, x) (series below a + 1, continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 1000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lead));
  }
  // Lentz's method for the continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let k = 1; k < 1000; k++) {
    const an = -k * (k - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(lead) * h);
}

/** P(χ²(df) > x). */
export function chiSquareSf(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/**
 * Pearson's chi-square goodness of fit of observed counts against expected proportions (scipy's
 * `chisquare(observed, expected_proportions * n)`). Bins the reference never saw get the PSI epsilon
 * as their proportion, so a new category shows up as a large statistic instead of a division by 0.
 */
export function chiSquareTest(observed: readonly number[], expected: readonly number[], epsilon = PSI_EPSILON): TestResult {
  const n = observed.reduce((s, c) => s + c, 0);
  if (n === 0 || observed.length < 2) return { statistic: 0, pValue: 1 };
  const floored = expected.map((e) => Math.max(e, epsilon));
  const total = floored.reduce((s, e) => s + e, 0);
  let stat = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = (floored[i]! / total) * n;
    stat += (observed[i]! - e) ** 2 / e;
  }
  return { statistic: stat, pValue: chiSquareSf(stat, observed.length - 1) };
}
