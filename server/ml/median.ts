/**
 * The median of `values` as numpy's (the mean of the two middle values when the count is even),
 * in linear expected time: Hoare's selection with a median-of-three pivot instead of a full sort
 * (a sort was most of a wide table's preprocessing). Reorders `values`; NaN must be removed first.
 */
export function medianInPlace(values: Float64Array): number {
  const m = values.length;
  if (m === 0) return NaN;
  const k = (m - 1) >> 1;
  const lower = select(values, k);
  if (m % 2) return lower;
  // After selection everything right of k is >= values[k]: the upper middle is their minimum.
  let upper = Infinity;
  for (let i = k + 1; i < m; i++) if (values[i]! < upper) upper = values[i]!;
  return (lower + upper) / 2;
}

/** The k-th smallest (0-based); afterwards values[0..k) <= values[k] <= values(k..]. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const x = a[lo]!;
    const y = a[(lo + hi) >>> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and a[j+1..i-1] (if any) equal the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
