import { describe, expect, it } from 'vitest';
import { HistogramKernel } from '@/server/ml/gbt/histogram-kernel';
import { seededRandom } from '@/server/ml/random';

/** A kernel over `rows` rows of random binned features (bins 0..nBins, nBins = missing) and pairs, the partition in a scrambled order. */
function randomKernel(rows: number, nBins: number[], seed: number) {
  const rng = seededRandom(seed);
  const kernel = new HistogramKernel(rows, nBins.length);
  kernel.columns.forEach((column, f) => column.forEach((_, r) => (column[r] = Math.floor(rng.next() * (nBins[f]! + 1)))));
  kernel.pairs.forEach((_, i) => (kernel.pairs[i] = i % 2 ? rng.next() * 0.25 : rng.next() - 0.5));
  kernel.partition.forEach((_, k) => (kernel.partition[k] = (k * 7) % rows));
  const base = Int32Array.from(nBins, (_, f) => 3 * nBins.slice(0, f).reduce((s, nb) => s + nb + 1, 0));
  const length = 3 * nBins.reduce((s, nb) => s + nb + 1, 0);
  return { kernel, base, length };
}

/** The histogram as the grower defines it: rows in partition order, float64 sums. */
function referenceHistogram(kernel: HistogramKernel, base: Int32Array, length: number, start: number, stop: number): Float64Array {
  const hist = new Float64Array(length);
  kernel.columns.forEach((column, f) => {
    for (let k = start; k < stop; k++) {
      const r = kernel.partition[k]!;
      const s = base[f]! + 3 * column[r]!;
      hist[s]! += kernel.pairs[2 * r]!;
      hist[s + 1]! += kernel.pairs[2 * r + 1]!;
      hist[s + 2]!++;
    }
  });
  return hist;
}

describe('gradient-boosted trees: the WebAssembly kernels', () => {
  it('build the same histograms to the bit as summing the rows in partition order, whatever the range and the feature count', () => {
    const rows = 3001;
    // Six features: one pass of four, then two one at a time; 255 bins plus missing is the widest.
    const nBins = [255, 2, 17, 40, 3, 254];
    const { kernel, base, length } = randomKernel(rows, nBins, 5);
    const ranges = [
      [0, rows],
      [17, 18],
      [100, 100],
      [7, 1501],
    ] as const;
    for (const [start, stop] of ranges) {
      const hist = new Float64Array(length).fill(NaN);
      kernel.build(hist, base, start, stop);
      expect(hist).toEqual(referenceHistogram(kernel, base, length, start, stop));
    }
    // The root's case: rows in order, their pairs read in place.
    kernel.resetPartition();
    for (const [start, stop] of ranges) {
      const hist = new Float64Array(length).fill(NaN);
      kernel.build(hist, base, start, stop, true);
      expect(hist).toEqual(referenceHistogram(kernel, base, length, start, stop));
    }
  });

  it('partition a range stably, the rows whose bin goes left first, and leave the rest of the partition alone', () => {
    const { kernel } = randomKernel(2001, [9], 8);
    const column = kernel.columns[0]!;
    kernel.goesLeft.fill(0);
    for (const b of [0, 3, 4, 9]) kernel.goesLeft[b] = 1;
    const before = Array.from(kernel.partition);
    const range = before.slice(300, 1700);
    const left = range.filter((r) => [0, 3, 4, 9].includes(column[r]!));
    const right = range.filter((r) => ![0, 3, 4, 9].includes(column[r]!));
    expect(kernel.partitionRange(300, 1700, column)).toBe(300 + left.length);
    expect(Array.from(kernel.partition)).toEqual([...before.slice(0, 300), ...left, ...right, ...before.slice(1700)]);
    expect(kernel.partitionRange(5, 5, column)).toBe(5);
  });
});
