import { describe, expect, it } from 'vitest';
import { frameRowHashes } from '@/server/ml/frame-rows';
import { rocAuc } from '@/server/ml/metrics';
import { permutationImportance } from '@/server/ml/permutation-importance';
import { hasRow, seenRowSet, unseenRows } from '@/server/ml/seen-rows';

describe('frame row hashes (seen rows of Python models)', () => {
  const a = Float64Array.from([1, Number.NaN, 0, 2.5]);
  const b = ['x', '', 'y', 'x'];
  it('are equal for equal rows and differ when any value or the label differs', () => {
    const h = frameRowHashes([a, b], [1, 0, 1, 1], 4);
    const again = frameRowHashes([Float64Array.from([1, Number.NaN, -0, 2.5]), [...b]], [1, 0, 1, 1], 4);
    expect(Array.from(again)).toEqual(Array.from(h));
    const otherLabel = frameRowHashes([a, b], [0, 0, 1, 1], 4);
    expect(otherLabel[0]).not.toBe(h[0]);
    expect(Array.from(otherLabel.slice(1))).toEqual(Array.from(h.slice(1)));
    const otherText = frameRowHashes([a, ['xx', '', 'y', 'x']], [1, 0, 1, 1], 4);
    expect(otherText[0]).not.toBe(h[0]);
    // A text and a number never hash alike by position: "1" is not 1.
    expect(frameRowHashes([['1']], [1], 1)[0]).not.toBe(frameRowHashes([Float64Array.from([1])], [1], 1)[0]);
  });

  it('find the rows a model trained on among new rows, as the retrain gate uses them', () => {
    const trained = frameRowHashes([Float64Array.from([1, 2, 3])], [0, 1, 0], 3);
    const seen = seenRowSet(trained, [0, 1, 2]);
    const now = frameRowHashes([Float64Array.from([3, 4, 1, 5])], [0, 1, 0, 1], 4);
    expect(unseenRows(seen, now, [0, 1, 2, 3])).toEqual([1, 3]);
    expect(hasRow(seen, now[0]!)).toBe(true);
  });
});

describe('permutation importance', () => {
  // y depends on x only; z is noise the "model" ignores.
  const n = 400;
  const x = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 10);
  const z = Array.from({ length: n }, (_, i) => Math.cos(i * 78.233) * 10);
  const y = Uint8Array.from(x, (v, i) => (v + Math.sin(i * 3.7) * 4 > 0 ? 1 : 0));
  const records = x.map((v, i) => ({ x: v, z: z[i]! }));
  const score = async (rs: readonly Record<string, unknown>[]) => Float64Array.from(rs, (r) => 1 / (1 + Math.exp(-(r.x as number))));

  it('is zero for a feature the model ignores and the AUC drop for one it uses, against an independent recomputation', async () => {
    const r = await permutationImportance({ records, y, features: ['z', 'x'], score, repeats: 3, seed: 7 });
    expect(r.features.map((f) => f.feature)).toEqual(['x', 'z']);
    expect(r.features[1]).toEqual({ feature: 'z', meanDrop: 0, sd: 0 });
    expect(r.baseline).toBeCloseTo(rocAuc(y, await score(records)), 12);
    expect(r.features[0]!.meanDrop).toBeGreaterThan(0.2);
    // Shuffling x destroys the ranking: the AUC falls to about a coin toss.
    expect(r.baseline - r.features[0]!.meanDrop).toBeGreaterThan(0.35);
    expect(r.baseline - r.features[0]!.meanDrop).toBeLessThan(0.65);
  });

  it('is the same for the same seed', async () => {
    const a = await permutationImportance({ records, y, features: ['x'], score, repeats: 2, seed: 3 });
    const b = await permutationImportance({ records, y, features: ['x'], score, repeats: 2, seed: 3 });
    expect(b).toEqual(a);
  });
});
