import { describe, expect, it } from 'vitest';
import { explainTable, globalImportance, modelFromJson, modelToJson } from '@/server/ml/explain';
import { expectedValue, treeShap } from '@/server/ml/explain/tree-shap';
import type { Tree } from '@/server/ml/gbt/tree';
import { predictProba } from '@/server/ml/model';
import { seededRandom } from '@/server/ml/random';
import { inferSchema } from '@/server/ml/table';
import { trainModel } from '@/server/ml/train';
import type { CellValue, Table } from '@/server/ml/types';

/**
 * The definition TreeSHAP computes, by brute force: v(S) is the tree's expectation when the
 * features in S are known (follow x) and the others are not (both branches, weighted by the
 * training rows that went each way); phi_i = sum over S without i of |S|!(M-|S|-1)!/M! (v(S+i) - v(S)).
 */
function bruteForceShap(tree: Tree, x: number[], groupOf: (c: number) => number, m: number): number[] {
  const v = (known: Set<number>, node = 0): number => {
    const c = tree.feature[node]!;
    if (c < 0) return tree.value[node]!;
    const l = tree.left[node]!;
    const r = tree.right[node]!;
    if (known.has(groupOf(c))) return v(known, routesLeft(tree, node, x[c]!) ? l : r);
    return (tree.cover[l]! * v(known, l) + tree.cover[r]! * v(known, r)) / tree.cover[node]!;
  };
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Array<number>(m).fill(0);
  for (let i = 0; i < m; i++) {
    for (let mask = 0; mask < 1 << m; mask++) {
      if (mask & (1 << i)) continue;
      const s = new Set<number>();
      for (let j = 0; j < m; j++) if (mask & (1 << j)) s.add(j);
      const weight = (fact(s.size) * fact(m - s.size - 1)) / fact(m);
      const without = v(s);
      s.add(i);
      phi[i]! += weight * (v(s) - without);
    }
  }
  return phi;
}

/** The split rule written out again (not the implementation's): a set of codes, else a threshold; NaN follows missingGoLeft. */
function routesLeft(tree: Tree, node: number, x: number): boolean {
  if (x !== x) return tree.missingGoLeft[node]!;
  const set = tree.leftCategories ? tree.leftCategories[node] : null;
  if (set) return set.indexOf(x) !== -1;
  return x <= tree.threshold[node]!;
}

/**
 * Columns 0 and 1 are numbers (features 0, 1); columns 2 and 3 are one one-hot block (feature 2).
 * Column 0 splits twice on one path, so the unwinding step is exercised; node 0 sends missing right.
 */
const tiny: Tree = {
  //          0    1    2    3    4    5    6    7    8    9   10
  feature: [0, 1, -1, 0, -1, -1, 2, -1, 3, -1, -1],
  threshold: [5, 2, 0, 1, 0, 0, 0.5, 0, 0.5, 0, 0],
  missingGoLeft: [false, true, false, false, false, false, false, false, false, false, false],
  left: [1, 2, -1, 4, -1, -1, 7, -1, 9, -1, -1],
  right: [6, 3, -1, 5, -1, -1, 8, -1, 10, -1, -1],
  value: [0, 0, 1.5, 0, -0.7, 2.25, 0, 0.3, 0, -1.1, 0.9],
  gain: new Array<number>(11).fill(0),
  cover: [100, 60, 25, 35, 10, 25, 40, 15, 25, 5, 20],
};
const tinyGroups = [0, 1, 2, 2];
const treeValueAt = (tree: Tree, x: number[]) => {
  let node = 0;
  while (tree.feature[node]! >= 0) node = routesLeft(tree, node, x[tree.feature[node]!]!) ? tree.left[node]! : tree.right[node]!;
  return tree.value[node]!;
};

describe('TreeSHAP', () => {
  it('equals the brute-force Shapley values of the path-dependent expectation on a tiny tree', () => {
    const rows = [
      [0.5, 1, 0, 0],
      [3, 5, 1, 0],
      [7, 0, 1, 0],
      [9, 9, 0, 1],
      [9, 9, 0, 0],
      [NaN, 3, 0, 1],
      [4, NaN, 0, 0],
    ];
    for (const x of rows) {
      const phi = new Float64Array(3);
      treeShap(tiny, (c) => x[c]!, (c) => tinyGroups[c]!, phi);
      const expected = bruteForceShap(tiny, x, (c) => tinyGroups[c]!, 3);
      for (let i = 0; i < 3; i++) expect(phi[i]).toBeCloseTo(expected[i]!, 12);
      // Local accuracy: E[f] + sum(phi) = f(x).
      expect(expectedValue(tiny) + phi.reduce((a, b) => a + b, 0)).toBeCloseTo(treeValueAt(tiny, x), 12);
    }
  });

  it('equals brute force on the trees of a trained model with category-set splits', async () => {
    const table = customers(600);
    const rng = seededRandom(8);
    // A 7-level region whose effect alternates, so trees split it by sets of several regions.
    table.columns.region = table.columns.churned!.map(() => `r${Math.floor(rng.next() * 7)}`);
    table.columns.churned = table.columns.churned!.map((c, i) => (Number(String(table.columns.region![i]).slice(1)) % 2 && rng.next() < 0.5 ? 'yes' : c));
    table.schema = inferSchema(table.columns);
    const r = await trainModel(table, { algorithm: 'gradient_boosted_trees', target: 'churned', positiveClass: 'yes', params: { maxIter: 5, maxLeafNodes: 8, minSamplesLeaf: 5 } });
    const est = r.model.estimator;
    if (est.kind !== 'gradient_boosted_trees') throw new Error('expected trees');
    expect(r.model.columns.map((c) => c.feature)).toEqual(['age', 'active', 'plan', 'region']);
    expect(est.trees.some((t) => t.leftCategories?.some((set) => set !== null && set.length >= 2))).toBe(true);
    const codeOf = (feature: string, value: unknown) => {
      const code = r.model.features.categorical.find((f) => f.name === feature)!.categories.indexOf(String(value));
      return code < 0 ? NaN : code;
    };
    for (let row = 0; row < 20; row++) {
      const x = [Number(table.columns.age![row] ?? NaN), table.columns.active![row] ? 1 : 0, codeOf('plan', table.columns.plan![row]), codeOf('region', table.columns.region![row])];
      for (const tree of est.trees) {
        const phi = new Float64Array(4);
        treeShap(tree, (c) => x[c]!, (c) => c, phi);
        const expected = bruteForceShap(tree, x, (c) => c, 4);
        for (let i = 0; i < 4; i++) expect(phi[i]).toBeCloseTo(expected[i]!, 10);
      }
    }
  });
});

function customers(n: number): Table {
  const rng = seededRandom(5);
  const columns: Record<string, CellValue[]> = { age: [], active: [], plan: [], churned: [] };
  for (let i = 0; i < n; i++) {
    const age = 18 + Math.floor(rng.next() * 60);
    const plan = ['basic', 'pro', 'team'][Math.floor(rng.next() * 3)]!;
    const active = rng.next() < 0.6;
    const z = -1 + 0.05 * (45 - age) + (plan === 'basic' ? 1 : plan === 'team' ? -0.5 : 0) - (active ? 1 : 0);
    columns.age!.push(rng.next() < 0.05 ? null : age);
    columns.active!.push(active);
    columns.plan!.push(plan);
    columns.churned!.push(rng.next() < 1 / (1 + Math.exp(-z)) ? 'yes' : 'no');
  }
  return { columns, schema: inferSchema(columns) };
}

describe('explanations of trained models', () => {
  for (const algorithm of ['logistic_regression', 'gradient_boosted_trees'] as const) {
    it(`${algorithm}: baseline + contributions = the margin, and sigmoid(margin) = the model's probability`, async () => {
      const table = customers(800);
      const r = await trainModel(table, { algorithm, target: 'churned', positiveClass: 'yes', params: { maxIter: 30 } });
      const p = predictProba(r.model, table);
      const explanations = explainTable(r.model, table, 800);
      explanations.forEach((e, i) => {
        const sum = e.baseline + e.contributions.reduce((a, c) => a + c.contribution, 0);
        expect(Math.abs(sum - e.margin)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e.margin)));
        expect(1 / (1 + Math.exp(-e.margin))).toBeCloseTo(p[i]!, 12);
        expect(e.contributions.map((c) => c.feature).sort()).toEqual(['active', 'age', 'plan']);
      });
      // Global importance: age drives churn most in this data.
      expect(globalImportance(explanations)[0]!.feature).toBe('age');
      // The model as stored in the ONNX metadata explains the same.
      const again = explainTable(modelFromJson(modelToJson(r.model)), table, 50);
      expect(again).toEqual(explanations.slice(0, 50));
    });
  }

  it('logistic regression: each contribution is the coefficient times the standardised value', async () => {
    const table = customers(400);
    const r = await trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes' });
    const est = r.model.estimator;
    if (est.kind !== 'logistic_regression') throw new Error('expected logistic regression');
    const age = r.model.features.numeric.find((f) => f.name === 'age')!;
    const [e] = explainTable(r.model, { columns: { ...table.columns, age: [30] , active: [true], plan: ['pro'] }, schema: table.schema }, 1);
    expect(e!.baseline).toBe(est.intercept);
    expect(e!.contributions.find((c) => c.feature === 'age')!.contribution).toBeCloseTo(est.coef[0]! * (Math.fround(30) - age.mean) * age.scale, 12);
    const proColumn = r.model.columns.findIndex((c) => c.label === 'plan=pro');
    expect(e!.contributions.find((c) => c.feature === 'plan')!.contribution).toBe(est.coef[proColumn]);
  });
});

describe('global importance on the model page', () => {
  it('is the mean |contribution| of the served model over the first holdout rows', async () => {
    const table = customers(500);
    const r = await trainModel(table, { algorithm: 'gradient_boosted_trees', target: 'churned', positiveClass: 'yes', params: { maxIter: 10 } });
    const c = r.evaluation.contributionImportance!;
    const rows = r.split.holdout.subarray(0, c.rows);
    expect(c.rows).toBe(Math.min(100, r.split.holdout.length));
    const sub: Table = { schema: table.schema, columns: Object.fromEntries(Object.entries(table.columns).map(([k, v]) => [k, Array.from(rows, (i) => v[i]!)])) };
    const mean = (feature: string) => explainTable(r.model, sub, rows.length).reduce((a, e) => a + Math.abs(e.contributions.find((x) => x.feature === feature)!.contribution), 0) / rows.length;
    for (const f of c.features) expect(f.meanAbsContribution).toBeCloseTo(mean(f.feature), 12);
    expect(c.features.map((f) => f.meanAbsContribution)).toEqual([...c.features.map((f) => f.meanAbsContribution)].sort((a, b) => b - a));
  });
});
