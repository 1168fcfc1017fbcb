import { describe, expect, it } from 'vitest';
import type { Tree } from '@/server/ml/gbt/tree';
import { type CategorySplitForm, categoryCodes, categorySplitForm } from '@/server/ml/onnx/category-order';
import { seededRandom } from '@/server/ml/random';

/** Whether a row whose category has new code k goes left under the form. */
const goesLeft = (form: CategorySplitForm, k: number) => (form.kind === 'member' ? form.codes.includes(k) : k <= form.threshold === form.inLow);

/** One tree of category splits on feature `feature`, one split per set (each split's right child the next split). */
function chainTree(feature: number, sets: number[][]): Tree {
  const t: Tree = { feature: [], threshold: [], missingGoLeft: [], left: [], right: [], value: [], gain: [], cover: [], leftCategories: [] };
  const add = (f: number, set: number[] | null) => {
    t.feature.push(f);
    t.threshold.push(0);
    t.missingGoLeft.push(false);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(f < 0 ? 0.1 : 0);
    t.gain.push(0);
    t.cover.push(100);
    t.leftCategories!.push(set);
    return t.feature.length - 1;
  };
  let parent = -1;
  for (const set of sets) {
    const id = add(feature, set);
    if (parent >= 0) t.right[parent] = id;
    t.left[id] = add(-1, null);
    parent = id;
  }
  t.right[parent] = add(-1, null);
  return t;
}

describe('category codes renumbered for the ONNX tree ensemble (category-order.ts)', () => {
  it('writes a set of the lowest or highest codes as one x <= threshold split, any other as a member set, each routing every code as the set does', () => {
    expect(categorySplitForm([0, 1, 2], [0, 1, 2, 3, 4], 5)).toEqual({ kind: 'leq', threshold: 2, inLow: true });
    expect(categorySplitForm([3, 4], [0, 1, 2, 3, 4], 5)).toEqual({ kind: 'leq', threshold: 2, inLow: false });
    expect(categorySplitForm([1, 2], [0, 1, 2, 3, 4], 5)).toEqual({ kind: 'member', codes: [1, 2] });
    expect(categorySplitForm([1, 2], [4, 0, 1, 2, 3], 5)).toEqual({ kind: 'leq', threshold: 1, inLow: true });
    expect(
      categorySplitForm([0, 35], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39], 40),
    ).toEqual({
      kind: 'member',
      codes: [0, 35],
    });
    const rng = seededRandom(5);
    for (let trial = 0; trial < 300; trial++) {
      const width = 2 + Math.floor(rng.next() * 45);
      const code = Array.from({ length: width }, (_, i) => i);
      for (let i = width - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [code[i], code[j]] = [code[j]!, code[i]!];
      }
      const set = code.filter(() => rng.next() < 0.4);
      if (set.length === 0) set.push(0);
      set.sort((a, b) => a - b);
      const form = categorySplitForm(set, code, width);
      for (let c = 0; c < width; c++) expect(goesLeft(form, code[c]!)).toBe(set.includes(c));
    }
  });

  it('renumbers each feature (a permutation) so that nested sets become prefixes or suffixes, deterministically', () => {
    // Feature 2 (categorical 0, 6 codes) and feature 3 (categorical 1, 40 codes: exhaustive search is out of reach).
    const trees = [
      chainTree(2, [[4], [1, 4], [1, 4, 5]]),
      chainTree(2, [[0, 2, 3]]),
      chainTree(3, [
        [7, 33],
        [7, 33, 38, 12],
        [2, 7, 12, 33, 38],
      ]),
    ];
    const codes = categoryCodes(trees, 2, [6, 40]);
    expect(codes.map((c) => [...c].sort((a, b) => a - b))).toEqual([Array.from({ length: 6 }, (_, i) => i), Array.from({ length: 40 }, (_, i) => i)]);
    for (const tree of trees) {
      tree.feature.forEach((f, id) => {
        const set = tree.leftCategories![id];
        if (set) expect(categorySplitForm(set, codes[f - 2]!, codes[f - 2]!.length).kind).toBe('leq');
      });
    }
    expect(categoryCodes(trees, 2, [6, 40])).toEqual(codes);
    // Many splits (a large model): the search is bounded, still a permutation.
    const rng = seededRandom(9);
    const many = Array.from({ length: 400 }, () =>
      chainTree(
        2 + Math.floor(rng.next() * 2),
        Array.from({ length: 20 }, () => [0, 1, 2, 3, 4, 5].filter(() => rng.next() < 0.5).concat([6])),
      ),
    );
    const bounded = categoryCodes(many, 2, [7, 7]);
    expect(bounded.map((c) => [...c].sort((a, b) => a - b))).toEqual([0, 1].map(() => Array.from({ length: 7 }, (_, i) => i)));
    // No category split on a feature: its codes stay as they are.
    expect(categoryCodes([chainTree(2, [[1]])], 2, [3, 4])[1]).toEqual([0, 1, 2, 3]);
  });
});
