import { type Random, shuffle } from '../random';

/** Rows used to place bin edges, as scikit-learn's HistGradientBoosting (a seeded subsample above it). */
const BINNING_SUBSAMPLE = 200_000;

/**
 * The training rows bin edges are placed from: all of them, or a seeded subsample of
 * BINNING_SUBSAMPLE shared by every feature (as scikit-learn's _BinMapper draws one subset).
 */
export function binningSample(rows: Uint32Array, rng: Random): Uint32Array {
  if (rows.length <= BINNING_SUBSAMPLE) return rows;
  return shuffle(rows.slice(), rng).subarray(0, BINNING_SUBSAMPLE);
}

/**
 * Bin edges of one feature from its values on the sample rows, as scikit-learn's
 * `_find_binning_thresholds`: midpoints between distinct values when there are at most maxBins of
 * them, else the distinct values among the maxBins-1 interior percentiles. Edges are float32
 * values, and so are the inputs, so `x <= edge` decides the same in float64 here as in float32 in
 * onnxruntime.
 */
export function binEdges(read: (row: number) => number, sample: Uint32Array, maxBins: number): Float64Array {
  const present = new Float64Array(sample.length);
  let m = 0;
  for (let k = 0; k < sample.length; k++) {
    const x = read(sample[k]!);
    if (!Number.isNaN(x)) present[m++] = x;
  }
  const sorted = present.subarray(0, m).sort();
  const distinct: number[] = [];
  for (const x of sorted) if (distinct.length === 0 || distinct[distinct.length - 1] !== x) distinct.push(x);
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) edges.push(Math.fround((distinct[i]! + distinct[i + 1]!) / 2));
  } else {
    // numpy.percentile(method='averaged_inverted_cdf') at linspace(0, 100, maxBins + 1)[1:-1], in
    // numpy's own float64 operation order (an index that is an integer only up to rounding must
    // round the same way), then duplicates dropped: scikit-learn 1.9's binning.
    const n = sorted.length;
    const step = 100 / maxBins;
    for (let k = 1; k < maxBins; k++) {
      const virtualIndex = n * ((k * step) / 100) - 1;
      let lo = Math.floor(virtualIndex);
      let hi = lo + 1;
      if (virtualIndex >= n - 1) lo = hi = n - 1;
      else if (virtualIndex < 0) lo = hi = 0;
      const gamma = virtualIndex - lo === 0 ? 0.5 : 1;
      const a = sorted[lo]!;
      const b = sorted[hi]!;
      const edge = Math.fround(b - (b - a) * (1 - gamma));
      if (edges.length === 0 || edges[edges.length - 1] !== edge) edges.push(edge);
    }
  }
  return Float64Array.from(edges);
}

/**
 * bin(x) = the first i with x <= edges[i] (edges.length when above every edge); a missing value
 * (NaN) gets the bin after those, edges.length + 1 (at most 255 with at most 254 edges). Into
 * `out` when given (rows 0..n-1).
 */
export function binValues(read: (row: number) => number, n: number, edges: Float64Array, out: Uint8Array = new Uint8Array(n)): Uint8Array {
  for (let r = 0; r < n; r++) {
    const x = read(r);
    if (Number.isNaN(x)) {
      out[r] = edges.length + 1;
      continue;
    }
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    out[r] = lo;
  }
  return out;
}
