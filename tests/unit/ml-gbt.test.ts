import { describe, expect, it } from 'vitest';
import { binEdges, binValues } from '@/server/ml/gbt/binning';
import { predictProba } from '@/server/ml/model';
import { seededRandom } from '@/server/ml/random';
import { trainModel } from '@/server/ml/train';
import type { Table, TrainingProgress } from '@/server/ml/types';

const all = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

function thresholdTable(missingLabel: 'yes' | 'no' | null, n = 2000): Table {
  // y = x > 0.5; every fifth row has x missing and, when missingLabel is set, that label.
  const x: (number | null)[] = [];
  const y: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = ((i * 7919) % 1000) / 1000;
    const missing = missingLabel !== null && i % 5 === 0;
    x.push(missing ? null : v);
    y.push(missing ? missingLabel! : v > 0.5 ? 'yes' : 'no');
  }
  return { columns: { x, y }, schema: [{ name: 'x', type: 'numeric' }, { name: 'y', type: 'categorical' }] };
}

const trees = async (table: Table, params = {}) => {
  const r = await trainModel(table, { algorithm: 'gradient_boosted_trees', target: 'y', positiveClass: 'yes', params: { maxIter: 20, ...params } });
  if (r.model.estimator.kind !== 'gradient_boosted_trees') throw new Error('unreachable');
  return { ...r, est: r.model.estimator };
};

describe('gradient-boosted trees', () => {
  it("bins like scikit-learn: midpoints of distinct values, else numpy's averaged_inverted_cdf percentiles", () => {
    const few = Float32Array.from([3, 1, 2, 2, NaN, 3]);
    expect(Array.from(binEdges((r) => few[r]!, all(6), 255))).toEqual([1.5, 2.5]);
    // numpy.percentile(1..10, [25, 50, 75], method='averaged_inverted_cdf') = [3, 5.5, 8]
    const ten = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    expect(Array.from(binEdges((r) => ten[r]!, all(10), 4))).toEqual([3, 5.5, 8]);
    const twelve = Float32Array.from([5, 1, 1, 2, 9, 9, 9, 3, 4, 7, 8, 8.5]);
    expect(Array.from(binEdges((r) => twelve[r]!, all(12), 4))).toEqual([2.5, 6, 8.75]);
    // x <= edge goes to the lower bin; missing values to the bin after the last.
    expect(Array.from(binValues((r) => [1, 1.5, 1.6, 3, NaN][r]!, 5, Float64Array.from([1.5, 2.5])))).toEqual([0, 0, 1, 2, 3]);
  });

  it('separates separable data (holdout AUC 1)', async () => {
    const rng = seededRandom(3);
    const n = 600;
    // Classes apart on a (a margin between 0.4 and 0.6); b is noise.
    const a = Array.from({ length: n }, (_, i) => (i % 2 ? 0.6 : 0) + rng.next() * 0.4);
    const b = Array.from({ length: n }, () => rng.next());
    const y = a.map((v) => (v > 0.5 ? 'yes' : 'no'));
    const table: Table = { columns: { a, b, y }, schema: [{ name: 'a', type: 'numeric' }, { name: 'b', type: 'numeric' }, { name: 'y', type: 'categorical' }] };
    const { evaluation } = await trees(table, { maxIter: 100 });
    expect(evaluation.auc.auc).toBe(1);
    expect(evaluation.atThreshold.accuracy).toBe(1);
  });

  it('learns to send missing values left when they behave like low values', async () => {
    const { est, model } = await trees(thresholdTable('no'));
    expect(est.trees[0]!.feature[0]).toBe(0);
    expect(est.trees[0]!.missingGoLeft[0]).toBe(true);
    expect(predictProba(model, { columns: { x: [null] }, schema: thresholdTable(null).schema })[0]).toBeLessThan(0.2);
  });

  it('learns to send missing values right when they behave like high values', async () => {
    const { est, model } = await trees(thresholdTable('yes'));
    expect(est.trees[0]!.missingGoLeft[0]).toBe(false);
    expect(predictProba(model, { columns: { x: [null] }, schema: thresholdTable(null).schema })[0]).toBeGreaterThan(0.8);
  });

  it('sends missing values of a feature never missing in training to the larger child', async () => {
    const table = thresholdTable(null);
    // Shift the threshold so the left side (x <= 0.3) is the smaller one.
    table.columns.y = (table.columns.x as number[]).map((v) => (v > 0.3 ? 'yes' : 'no'));
    const { est } = await trees(table);
    const root = est.trees[0]!;
    expect(root.threshold[0]).toBeCloseTo(0.3, 2);
    expect(root.missingGoLeft[0]).toBe(false);
  });

  it('splits a categorical feature by a set of categories, sorted by their gradient statistics, in one split', async () => {
    // Positive rates alternate high/low over the category names, so no order of the names (and no
    // one-hot column) separates them; the set {a, c, e} against {b, d, f} does, in one split.
    const rates: Record<string, number> = { a: 0.9, b: 0.1, c: 0.85, d: 0.15, e: 0.8, f: 0.2 };
    const names = Object.keys(rates);
    const rng = seededRandom(9);
    const colour = Array.from({ length: 3000 }, (_, i) => names[i % 6]!);
    const y = colour.map((c) => (rng.next() < rates[c]! ? 'yes' : 'no'));
    const table: Table = { columns: { colour, y }, schema: [{ name: 'colour', type: 'categorical' }, { name: 'y', type: 'categorical' }] };
    const { est, model, evaluation } = await trees(table, { maxLeafNodes: 2, maxIter: 5 });
    expect(model.columns.map((c) => c.label)).toEqual(['colour']);
    const codeOf = (c: string) => model.features.categorical[0]!.categories.indexOf(c);
    const left = est.trees[0]!.leftCategories![0]!;
    const high = ['a', 'c', 'e'].map(codeOf).sort();
    const low = ['b', 'd', 'f'].map(codeOf).sort();
    expect([high, low]).toContainEqual(left);
    // One split per tree separates the two groups: every high category scores above every low one.
    const p = predictProba(model, { columns: { colour: names }, schema: table.schema });
    expect(Math.min(p[0]!, p[2]!, p[4]!)).toBeGreaterThan(Math.max(p[1]!, p[3]!, p[5]!));
    expect(evaluation.auc.auc).toBeGreaterThan(0.8);
    expect(evaluation.featureImportance).toEqual([{ feature: 'colour', importance: 1 }]);
  });

  it('sends categories with too little support, and categories never seen in training, to the larger side', async () => {
    // "rare" (8 rows, all positive) is below the support a category needs to join the left set.
    const rng = seededRandom(4);
    const colour = Array.from({ length: 2008 }, (_, i) => (i < 8 ? 'rare' : i % 4 === 0 ? 'red' : ['green', 'blue', 'grey'][i % 3]!));
    const y = colour.map((c) => (c === 'rare' || (c === 'red' && rng.next() < 0.9) || rng.next() < 0.1 ? 'yes' : 'no'));
    const table: Table = { columns: { colour, y }, schema: [{ name: 'colour', type: 'categorical' }, { name: 'y', type: 'categorical' }] };
    const { est, model } = await trees(table, { maxLeafNodes: 2, maxIter: 1 });
    const categories = model.features.categorical[0]!.categories;
    const root = est.trees[0]!;
    const left = root.leftCategories![0]!.map((code) => categories[code]);
    expect(left).not.toContain('rare');
    const sides = left.includes('red') ? { red: 'left', rest: 'right' } : { red: 'right', rest: 'left' };
    // The side without red holds ~3/4 of the rows: unseen categories go there.
    expect(root.missingGoLeft[0]).toBe(sides.rest === 'left');
    const p = predictProba(model, { columns: { colour: ['green', 'never-seen', 'rare', 'red'] }, schema: table.schema });
    expect(p[1]).toBe(p[0]);
    expect(p[2]).toBe(p[0]);
    expect(p[3]).toBeGreaterThan(p[0]!);
  });

  it('reports progress per iteration and stops early on a flat validation loss when the data is large', async () => {
    const rng = seededRandom(5);
    const n = 14_000;
    const x = Array.from({ length: n }, () => rng.next());
    const y = x.map((v) => (rng.next() < v ? 'yes' : 'no'));
    const table: Table = { columns: { x, y }, schema: [{ name: 'x', type: 'numeric' }, { name: 'y', type: 'categorical' }] };
    const progress: TrainingProgress[] = [];
    const r = await trainModel(table, { algorithm: 'gradient_boosted_trees', target: 'y', positiveClass: 'yes', refit: false }, { onProgress: (p) => progress.push(p) });
    expect(r.training.earlyStopped).toBe(true);
    expect(r.training.iterations).toBeLessThan(100);
    expect(progress.map((p) => p.iteration)).toEqual(Array.from({ length: r.training.iterations }, (_, i) => i + 1));
    expect(progress.every((p) => p.validationLoss !== undefined && p.maxIterations === 100)).toBe(true);
    expect(progress.at(-1)!.loss).toBeLessThan(progress[0]!.loss);
  });

  it('stops when its AbortSignal fires, with the signal reason', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by the user');
    const run = trainModel(thresholdTable('no', 20_000), { algorithm: 'gradient_boosted_trees', target: 'y', positiveClass: 'yes', params: { maxIter: 1000, earlyStopping: false } }, {
      signal: controller.signal,
      onProgress: (p) => p.iteration === 3 && controller.abort(reason),
    });
    await expect(run).rejects.toBe(reason);
  });
});
