import { describe, expect, it } from 'vitest';
import { MlInputError } from '@/server/ml/errors';
import { encodeFeatures, planFeatures, standardisedMatrix } from '@/server/ml/features';
import { predictProba } from '@/server/ml/model';
import { seededRandom } from '@/server/ml/random';
import { inferSchema } from '@/server/ml/table';
import { trainModel } from '@/server/ml/train';
import type { CellValue, Table } from '@/server/ml/types';

const all = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

function customers(n = 800, seed = 1): Table {
  const rng = seededRandom(seed);
  const columns: Record<string, CellValue[]> = { age: [], plan: [], active: [], note: [], churned: [] };
  for (let i = 0; i < n; i++) {
    const age = 18 + Math.floor(rng.next() * 60);
    const plan = ['basic', 'pro', 'team'][Math.floor(rng.next() * 3)]!;
    const active = rng.next() < 0.7;
    const z = -2 + 0.04 * (60 - age) + (plan === 'basic' ? 1 : 0) - (active ? 1 : 0);
    columns.age!.push(rng.next() < 0.05 ? null : age);
    columns.plan!.push(rng.next() < 0.03 ? null : plan);
    columns.active!.push(active);
    columns.note!.push(`free text ${i}`);
    columns.churned!.push(rng.next() < 1 / (1 + Math.exp(-z)) ? 'yes' : 'no');
  }
  const schema = inferSchema(columns).map((c) => (c.name === 'note' ? { ...c, type: 'text' as const } : c));
  return { columns, schema };
}

describe('preprocessing', () => {
  it('imputes the median and standardises numeric features with the training rows only', () => {
    const table: Table = { columns: { x: [1, 2, null, 4, 1000] }, schema: [{ name: 'x', type: 'numeric' }] };
    const plan = planFeatures(table, ['x'], all(4), { maxCategories: 50, minFrequency: 1 });
    const f = plan.numeric[0]!;
    expect(f.median).toBe(2);
    expect(f.mean).toBe(2.25); // [1, 2, 2 (imputed), 4]
    expect(f.scale).toBeCloseTo(1 / Math.sqrt((1.5625 + 0.0625 * 2 + 3.0625) / 4), 6);
    const { X } = standardisedMatrix(encodeFeatures(table, plan, 5), plan, all(5));
    expect(X[2]).toBeCloseTo((2 - 2.25) * f.scale, 6);
  });

  it("imputes numpy's median (the two middle values' mean for an even count) on columns with ties, runs and missing values", () => {
    const rng = seededRandom(5);
    // Values exact in float32 (the plan stores float32), so the reference needs no rounding of its own.
    const shapes = [() => Math.floor(rng.next() * 3), (i: number) => i, (i: number) => -i, () => Math.round(rng.next() * 1e3) / 8];
    for (let t = 0; t < 400; t++) {
      const n = 1 + Math.floor(rng.next() * (t < 380 ? 25 : 3000));
      const shape = shapes[t % shapes.length]!;
      const values: CellValue[] = Array.from({ length: n }, (_, i) => (rng.next() < 0.1 ? null : shape(i)));
      const present = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
      if (present.length === 0) continue;
      const m = present.length;
      const expected = m % 2 ? present[(m - 1) / 2]! : (present[m / 2 - 1]! + present[m / 2]!) / 2;
      const table: Table = { columns: { x: values }, schema: [{ name: 'x', type: 'numeric' }] };
      const f = planFeatures(table, ['x'], all(n), { maxCategories: 50, minFrequency: 1 }).numeric[0]!;
      expect(f.median, `column ${t} (${n} rows)`).toBe(Math.fround(expected));
    }
  });

  it('keeps the most frequent categories, groups rare ones, and ignores unseen ones', () => {
    const values = [...'aaaaa', ...'bbb', ...'cc', 'd', null, null];
    const table: Table = { columns: { c: [...values, 'zzz'] }, schema: [{ name: 'c', type: 'categorical' }] };
    const plan = planFeatures(table, ['c'], all(values.length), { maxCategories: 3, minFrequency: 2 });
    expect(plan.categorical[0]).toMatchObject({ categories: ['', 'a', 'b'], infrequent: ['c', 'd'] });
    const { codes } = encodeFeatures(table, plan, values.length + 1);
    // '' (missing) 0, a 1, b 2, infrequent c and d share column 3, unseen zzz matches none (-1).
    expect(Array.from(codes[0]!)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 0, -1]);
  });

  it('reads booleans as 0/1 and numeric strings as numbers, naming the column and row of a bad value', () => {
    const table: Table = { columns: { b: [true, false, 't', null], s: ['3.5', ' 2 ', '', 'x'] }, schema: [{ name: 'b', type: 'boolean' }, { name: 's', type: 'numeric' }] };
    const plan = planFeatures(table, ['b'], all(4), { maxCategories: 50, minFrequency: 1 });
    expect(Array.from(encodeFeatures(table, plan, 4).numeric[0]!)).toEqual([1, 0, 1, NaN]);
    expect(() => planFeatures(table, ['s'], all(4), { maxCategories: 50, minFrequency: 1 })).toThrow(/column "s", row 4: "x" is not a number/);
  });
});

describe('trainModel', () => {
  for (const algorithm of ['logistic_regression', 'gradient_boosted_trees'] as const) {
    it(`${algorithm}: reaches holdout AUC 1 on separable data`, async () => {
      const x = Array.from({ length: 400 }, (_, i) => (i % 2 ? 1 + (i % 7) : -1 - (i % 5)));
      const table: Table = { columns: { x, y: x.map((v) => (v > 0 ? 'pos' : 'neg')) }, schema: [{ name: 'x', type: 'integer' }, { name: 'y', type: 'categorical' }] };
      const r = await trainModel(table, { algorithm, target: 'y', positiveClass: 'pos' });
      expect(r.evaluation.auc.auc).toBe(1);
    });

    it(`${algorithm}: evaluates on the holdout (AUC with CI, ROC, calibration, importance per raw feature)`, async () => {
      const table = customers();
      const r = await trainModel(table, { algorithm, target: 'churned', positiveClass: 'yes', holdout: { fraction: 0.25, seed: 3 } });
      const e = r.evaluation;
      expect(e.rows).toBe(200);
      expect(e.auc.auc).toBeGreaterThan(0.6);
      expect(e.auc.lower).toBeLessThan(e.auc.auc);
      expect(e.auc.upper).toBeGreaterThan(e.auc.auc);
      expect(e.logLoss).toBeGreaterThan(0);
      expect(e.atThreshold.threshold).toBe(0.5);
      expect(e.roc.length).toBeLessThanOrEqual(200);
      expect(e.calibration).toHaveLength(10);
      expect(e.calibration.reduce((s, b) => s + b.count, 0)).toBe(200);
      // Free text is not a feature unless asked for; one-hot columns are summed back per feature.
      expect(e.featureImportance.map((f) => f.feature).sort()).toEqual(['active', 'age', 'plan']);
      expect(e.featureImportance.reduce((s, f) => s + f.importance, 0)).toBeCloseTo(1, 12);
      expect(r.model.target).toEqual({ name: 'churned', positiveClass: 'yes', negativeClass: 'no' });
    });
  }

  it('names the classes of a yes/no target as the CSV wrote them, whatever boolean spelling positiveClass uses', async () => {
    const base = customers(400);
    const churned = base.columns.churned!.map((v) => v === 'yes');
    const schema = base.schema.map((c) => (c.name === 'churned' ? { name: 'churned', type: 'boolean' as const, booleanWords: ['Yes', 'No'] as const } : c));
    const table: Table = { columns: { ...base.columns, churned }, schema };
    for (const positiveClass of ['Yes', 'yes', 'true', '1']) {
      const r = await trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass });
      expect(r.model.target).toEqual({ name: 'churned', positiveClass: 'Yes', negativeClass: 'No' });
    }
    const negative = await trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'no' });
    expect(negative.model.target).toEqual({ name: 'churned', positiveClass: 'No', negativeClass: 'Yes' });
    // The same rows as the text target: the positive class "yes" marks the same rows either way.
    const asText = await trainModel(base, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes' });
    const asBoolean = await trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes' });
    expect(asBoolean.evaluation.auc.auc).toBe(asText.evaluation.auc.auc);
    // Without words (a column typed boolean by hand), the classes are "true"/"false" as before.
    const plain: Table = { columns: table.columns, schema: schema.map((c) => (c.name === 'churned' ? { name: 'churned', type: 'boolean' as const } : c)) };
    expect((await trainModel(plain, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'true' })).model.target).toEqual({ name: 'churned', positiveClass: 'true', negativeClass: 'false' });
    const err = await trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'maybe' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlInputError);
    expect((err as MlInputError).message).toBe('the target "churned" is a yes/no column (Yes/No): positiveClass must be one of them, not "maybe"');
  });

  it('leaves rows without a target out of both parts and counts them', async () => {
    const table = customers(400);
    (table.columns.churned as CellValue[])[0] = null;
    (table.columns.churned as CellValue[])[1] = null;
    const r = await trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes' });
    expect(r.training.rowsWithoutTarget).toBe(2);
    expect(r.split.train.length + r.split.holdout.length).toBe(398);
    expect([...r.split.train, ...r.split.holdout]).not.toContain(0);
  });

  it('reports optimiser progress and converges', async () => {
    const progress: number[] = [];
    const r = await trainModel(customers(), { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes', refit: false }, { onProgress: (p) => progress.push(p.loss) });
    expect(r.training.converged).toBe(true);
    expect(progress.length).toBe(r.training.iterations);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeLessThanOrEqual(progress[i - 1]!);
  });

  for (const algorithm of ['logistic_regression', 'gradient_boosted_trees'] as const) {
    it(`${algorithm}: refits on every labelled row after the holdout evaluation (refit: false serves the training-part model)`, async () => {
      const table = customers(600);
      (table.columns.churned as CellValue[])[5] = null;
      const spec = { algorithm, target: 'churned', positiveClass: 'yes' } as const;
      const [refit, kept] = await Promise.all([trainModel(table, spec), trainModel(table, { ...spec, refit: false })]);
      // Same split, same holdout estimate either way.
      expect(Array.from(refit.split.holdout)).toEqual(Array.from(kept.split.holdout));
      expect(Array.from(refit.holdoutProbabilities)).toEqual(Array.from(kept.holdoutProbabilities));
      expect(refit.evaluation.auc).toEqual(kept.evaluation.auc);
      // refit: false serves the model that produced the holdout probabilities.
      const keptP = predictProba(kept.model, table);
      kept.split.holdout.forEach((r, k) => expect(keptP[r]).toBe(kept.holdoutProbabilities[k]));
      expect(kept.training).toMatchObject({ fittedOn: 'training', fittedRows: kept.split.train.length, holdoutRows: kept.split.holdout.length });
      expect(Array.from(kept.fittedRows)).toEqual(Array.from(kept.split.train));
      // The refit model learnt from all 599 labelled rows: its preprocessing says so.
      expect(refit.training).toMatchObject({ fittedOn: 'all', fittedRows: 599 });
      expect(Array.from(refit.fittedRows)).toEqual([...Array.from({ length: 600 }, (_, i) => i)].filter((i) => i !== 5));
      const ages = (table.columns.age as CellValue[]).filter((a, i) => i !== 5 && a !== null).map(Number);
      const sorted = [...ages].sort((a, b) => a - b);
      const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
      expect(refit.model.features.numeric.find((f) => f.name === 'age')!.median).toBe(median);
      const refitP = predictProba(refit.model, table);
      expect(refit.split.holdout.some((r) => refitP[r] !== keptP[r])).toBe(true);
    });
  }

  it('leaves out constant, all-missing and id columns with a warning each; warns about a multi-class target and numbers stored as text', async () => {
    const base = customers(300);
    const n = 300;
    const churned = (base.columns.churned as CellValue[]).map((c, i) => (c === 'yes' ? 'yes' : i % 2 ? 'no' : 'maybe'));
    const columns: Record<string, CellValue[]> = {
      ...(base.columns as Record<string, CellValue[]>),
      churned,
      country: Array.from({ length: n }, () => 'NL'),
      empty: Array.from({ length: n }, () => null),
      customer_id: Array.from({ length: n }, (_, i) => `C${1000 + i}`),
      row_number: Array.from({ length: n }, (_, i) => i + 1),
      income: Array.from({ length: n }, (_, i) => (i === 7 ? 'n/a' : i === 9 ? 'unknown' : String(1000 + ((i * 37) % 50)))),
    };
    const schema = [
      ...base.schema.filter((c) => c.name !== 'churned'),
      { name: 'churned', type: 'categorical' as const },
      { name: 'country', type: 'categorical' as const },
      { name: 'empty', type: 'numeric' as const },
      { name: 'customer_id', type: 'categorical' as const },
      { name: 'row_number', type: 'integer' as const },
      { name: 'income', type: 'categorical' as const },
    ];
    const r = await trainModel({ columns, schema }, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes', holdout: { fraction: 0.3 } });
    const used = [...r.model.features.numeric, ...r.model.features.categorical].map((f) => f.name).sort();
    expect(used).toEqual(['active', 'age', 'income', 'plan']);
    const w = r.training.warnings;
    expect(w).toHaveLength(6);
    expect(w[0]).toBe('the target "churned" has 3 classes: trained one-vs-rest, "yes" against the other 2 together; set positiveClass to model another class');
    expect(w).toContain('column "country" has one value ("NL") in every row: left out of the features');
    expect(w).toContain('column "empty" is missing in every row: left out of the features');
    expect(w).toContain('column "customer_id" has a different value in every row (an id?): left out of the features');
    expect(w).toContain('column "row_number" counts up by one per row (an id?): left out of the features');
    expect(w.find((m) => m.startsWith('column "income"'))).toMatch(/stored as text .* these are not: "n\/a", "unknown"/);
  });

  it('rejects with the reason of an already aborted signal before fitting', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    const run = trainModel(customers(200), { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes' }, { signal: controller.signal });
    await expect(run).rejects.toThrow('run cancelled');
  });

  it("refuses a user's mistakes with MlInputError naming the field", async () => {
    const table = customers(200);
    const attempt = (spec: object) => trainModel(table, { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes', ...spec }).catch((e: unknown) => e);
    const cases: [object, RegExp, string][] = [
      [{ features: ['age', 'salary'] }, /column "salary" does not exist/, 'salary'],
      [{ features: ['churned'] }, /cannot also be a feature/, 'features'],
      [{ positiveClass: 'maybe' }, /never has the positive class "maybe"/, 'positiveClass'],
      [{ params: { C: -1 } }, /train spec: params\.C/, 'params.C'],
      [{ holdout: { fraction: 0.001 } }, /leaves one part empty|only one class/, 'holdout.fraction'],
    ];
    for (const [spec, message, field] of cases) {
      const err = await attempt(spec);
      expect(err).toBeInstanceOf(MlInputError);
      expect((err as MlInputError).message).toMatch(message);
      if (field !== 'holdout.fraction') expect((err as MlInputError).field).toBe(field);
    }
  });
});
