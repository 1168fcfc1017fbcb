import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { BoostedTrees } from '@/server/ml/gbt/boosting';
import { type Tree, treeValue } from '@/server/ml/gbt/tree';
import { categoryCodes } from '@/server/ml/onnx/category-order';
import { ElemType, encodeModel, tensorValue } from '@/server/ml/onnx/proto';
import { type CategoryCodes, treeEnsembleOutputs } from '@/server/ml/onnx/tree-ensemble';

/**
 * The tree ensemble's split forms (tree-ensemble.ts: BRANCH_MEMBER, or BRANCH_LEQ on renumbered
 * codes, branches swapped for a set of the highest codes) route every category, a missing one and
 * a code no category has in onnxruntime as the TypeScript trees do. Features: x (numeric), a (40
 * codes, so sets reach codes >= 32), b (5 codes).
 */
type Split = { f: number; threshold?: number; set?: number[]; missingLeft: boolean };
type Spec = Split & { left: Spec | number; right: Spec | number };

/** A Tree (preorder arrays) from nested splits; leaves are numbers. */
function treeOf(spec: Spec | number): Tree {
  const t: Tree = { feature: [], threshold: [], missingGoLeft: [], left: [], right: [], value: [], gain: [], cover: [], leftCategories: [] };
  const add = (s: Spec | number): number => {
    const id = t.feature.length;
    const leaf = typeof s === 'number';
    t.feature.push(leaf ? -1 : s.f);
    t.threshold.push(leaf ? 0 : (s.threshold ?? 0));
    t.missingGoLeft.push(leaf ? false : s.missingLeft);
    t.value.push(leaf ? s : 0);
    t.gain.push(0);
    t.cover.push(50);
    t.leftCategories!.push(leaf ? null : (s.set ?? null));
    t.left.push(-1);
    t.right.push(-1);
    if (!leaf) {
      t.left[id] = add(s.left);
      t.right[id] = add(s.right);
    }
    return id;
  };
  add(spec);
  return t;
}

// Leaf values are distinct powers of two: a row routed to any other leaf changes the margin.
const est: BoostedTrees = {
  baseScore: -0.25,
  earlyStopped: false,
  categoricalSplits: 'native',
  trees: [
    // a in its lowest codes (missing left), then b in its highest (missing right).
    treeOf({ f: 1, set: [0, 1, 2], missingLeft: true, left: 1 / 2, right: { f: 2, set: [3, 4], missingLeft: false, left: 1 / 4, right: -1 / 8 } }),
    // Sets across code 32 and above it, missing right and left.
    treeOf({
      f: 1,
      set: [5, 33, 39],
      missingLeft: false,
      left: { f: 0, threshold: 1.5, missingLeft: true, left: 1 / 16, right: -1 / 32 },
      right: { f: 1, set: [34, 35, 36, 37, 38, 39], missingLeft: true, left: 1 / 64, right: -1 / 128 },
    }),
    // All but the lowest code (a suffix), missing left; then a set in the middle of b, missing right.
    treeOf({ f: 1, set: Array.from({ length: 39 }, (_, i) => i + 1), missingLeft: true, left: { f: 2, set: [1, 2], missingLeft: false, left: 1 / 256, right: -1 / 512 }, right: 1 / 1024 }),
    // A tree that is one leaf.
    treeOf(1 / 2048),
    // x <= 0, missing left (the negated column's threshold below -0).
    treeOf({ f: 0, threshold: 0, missingLeft: true, left: 1 / 4096, right: -1 / 8192 }),
  ],
};

const WIDTHS = [40, 5];

/** x at and around the thresholds 0 and 1.5 (float32 neighbours), and missing. */
const up = (v: number) => new Float32Array(new Int32Array([new Int32Array(new Float32Array([v]).buffer)[0]! + 1]).buffer)[0]!;
const XS = [-1, -0, 0, 1.401298464324817e-45, 1, 1.5, up(1.5), 2, NaN];

/**
 * Every a (and missing) with every b (and missing) and each of XS. No other code reaches the
 * trees: the graph's LabelEncoder gives a category never seen in training NaN.
 */
function rows(): number[][] {
  const out: number[][] = [];
  for (let a = -1; a < 40; a++) for (let b = -1; b < 5; b++) for (const x of XS) out.push([x, a < 0 ? NaN : a, b < 0 ? NaN : b]);
  return out;
}

async function score(categories: CategoryCodes | undefined, input: number[][]) {
  const built = treeEnsembleOutputs(est, 'X', 't.', { label: 'label', probabilities: 'probabilities' }, categories);
  const bytes = encodeModel({
    irVersion: 8,
    opsets: { onnx: 15, ml: 5 },
    graphName: 'forms',
    nodes: built.nodes,
    inputs: [tensorValue('X', ElemType.FLOAT, ['N', 3])],
    outputs: [tensorValue('label', ElemType.INT64, ['N']), tensorValue('probabilities', ElemType.FLOAT, ['N', 2])],
    initializers: built.initializers,
    producerVersion: '0',
    docString: '',
    metadata: {},
  });
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ X: new ort.Tensor('float32', Float32Array.from(input.flat()), [input.length, 3]) });
  return Array.from({ length: input.length }, (_, i) => (out.probabilities!.data as Float32Array)[2 * i + 1]!);
}

describe('ONNX tree ensemble split forms: category codes renumbered or not, in onnxruntime', () => {
  const ours = rows().map((r) => 1 / (1 + Math.exp(-est.trees.reduce((m, t) => m + treeValue(t, (f) => r[f]!), est.baseScore))));
  const renumbered = categoryCodes(est.trees, 1, WIDTHS);
  const reversed = WIDTHS.map((w) => Array.from({ length: w }, (_, i) => w - 1 - i));
  const cases: [string, CategoryCodes | undefined][] = [
    ['member sets on the model codes', undefined],
    ['codes as the model has them', { first: 1, code: WIDTHS.map((w) => Array.from({ length: w }, (_, i) => i)) }],
    ['codes renumbered by categoryCodes', { first: 1, code: renumbered }],
    ['codes reversed (sets of the lowest codes become the highest)', { first: 1, code: reversed }],
  ];
  for (const [name, categories] of cases) {
    it(`${name}: every row scores as the TypeScript trees do`, async () => {
      // Each category's code in the graph.
      const input = rows().map(([x, a, b]) => [x!, recode(categories, 0, a!), recode(categories, 1, b!)]);
      const positive = await score(categories, input);
      positive.forEach((p, i) => expect(Math.abs(p - ours[i]!)).toBeLessThan(1e-6));
    });
  }

  it('renumbering turns the lowest-codes, highest-codes and middle sets here into BRANCH_LEQ nodes, leaving the sets across code 32 as members', () => {
    const built = treeEnsembleOutputs(est, 'X', 't.', { label: 'label', probabilities: 'probabilities' }, { first: 1, code: renumbered });
    const ensemble = built.nodes.find((n) => n.opType === 'TreeEnsemble')!;
    const modes = ensemble.attribute!.find((a) => a.name === 'nodes_modes')!.t!.int32Data!;
    expect(modes.filter((m) => m === 6).length).toBe(1);
    expect(modes.filter((m) => m === 0).length).toBe(8);
  });
});

function recode(categories: CategoryCodes | undefined, j: number, c: number): number {
  if (!categories || Number.isNaN(c)) return c;
  return categories.code[j]![c]!;
}
