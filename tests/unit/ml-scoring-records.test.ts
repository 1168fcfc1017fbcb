import { describe, expect, it } from 'vitest';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { RecordInputError, recordsToColumns } from '@/server/scoring/records';

const schema: FeatureSchema = {
  version: 1,
  inputs: [
    { name: 'age', input: 'age', type: 'integer', tensor: 'float', rank: 2 },
    { name: 'active', input: 'active', type: 'boolean', tensor: 'float', rank: 2 },
    { name: 'plan', input: 'plan', type: 'categorical', tensor: 'string', rank: 2, categories: ['basic', 'pro'] },
    { name: 'visits', input: 'visits_in', type: 'integer', tensor: 'int64', rank: 1 },
  ],
  outputs: { label: 'label', probabilities: 'probabilities' },
  classes: ['no', 'yes'],
  labelValues: [0, 1],
  positiveIndex: 1,
};

const issuesOf = (records: unknown[]) => {
  try {
    recordsToColumns(schema, records);
  } catch (e) {
    if (e instanceof RecordInputError) return e;
  }
  throw new Error('expected a RecordInputError');
};

describe('records to model inputs', () => {
  it('builds one column per input: NaN for a null number, "" for a null category, booleans as 0/1', () => {
    const cols = recordsToColumns(schema, [
      { age: 30, active: true, plan: 'pro', visits: 3, extra: 'ignored' },
      { age: null, active: false, plan: null, visits: 0 },
      { age: 41.5, active: null, plan: 7, visits: -2 },
    ]);
    const by = Object.fromEntries(cols.map((c) => [c.input, c]));
    expect(Array.from(by.age!.data as Float32Array)).toEqual([30, NaN, 41.5]);
    expect(Array.from(by.active!.data as Float32Array)).toEqual([1, 0, NaN]);
    expect(by.plan!.data).toEqual(['pro', '', '7']);
    expect(by.plan!.dims).toEqual([3, 1]);
    expect(by.visits_in).toMatchObject({ type: 'int64', dims: [3] });
    expect(Array.from(by.visits_in!.data as BigInt64Array)).toEqual([3n, 0n, -2n]);
  });

  it('accepts a category never seen in training (the model decides what it means)', () => {
    const [, , plan] = recordsToColumns(schema, [{ age: 1, active: true, plan: 'enterprise', visits: 1 }]);
    expect(plan!.data).toEqual(['enterprise']);
  });

  it('names the record index and the field of every problem, first one in the message', () => {
    const err = issuesOf([
      { age: 30, active: true, plan: 'pro', visits: 1 },
      { active: true, plan: 'pro', visits: 1 },
      { age: '30', active: 'maybe', plan: ['pro'], visits: 1.5 },
      'not a record',
      { age: 1, active: true, plan: 'pro', visits: null },
    ]);
    expect(err.message).toBe('records[1].age: missing feature (and 6 more issues)');
    expect(err.field).toBe('records[1].age');
    expect(err.issues).toEqual([
      { record: 1, field: 'age', message: 'missing feature' },
      { record: 2, field: 'age', message: 'expected a number or null, got a string ("30")' },
      { record: 2, field: 'active', message: 'expected true or false (or yes/no, 1/0) or null, got a string ("maybe")' },
      { record: 2, field: 'plan', message: 'expected a string or null, got an array' },
      { record: 2, field: 'visits', message: 'expected an integer, got number 1.5' },
      { record: 3, field: '', message: 'expected an object of features, got a string ("not a record")' },
      { record: 4, field: 'visits', message: "null is not allowed: this model's input is an integer tensor" },
    ].sort((a, b) => a.record - b.record));
  });

  it('reads a boolean feature in every spelling an upload accepts: yes/no, true/false, t/f, y/n, 1/0, any case', () => {
    const spellings: [unknown, number][] = [['yes', 1], ['No', 0], ['TRUE', 1], ['false', 0], ['t', 1], ['F', 0], ['y', 1], ['n', 0], ['1', 1], ['0', 0], [1, 1], [0, 0], [true, 1], [false, 0]];
    const cols = recordsToColumns(schema, spellings.map(([active]) => ({ age: 1, active, plan: 'pro', visits: 1 })));
    expect(Array.from(cols[1]!.data as Float32Array)).toEqual(spellings.map(([, x]) => x));
  });

  it("accepts the CSV's original column name as well as the stored lowercase name", () => {
    const withHeaders: FeatureSchema = {
      ...schema,
      inputs: [
        { name: 'monthly_income', header: 'Monthly Income', input: 'monthly_income', type: 'numeric', tensor: 'float', rank: 2 },
        { name: 'plan', header: 'Plan', input: 'plan', type: 'categorical', tensor: 'string', rank: 2 },
      ],
    };
    const cols = recordsToColumns(withHeaders, [
      { 'Monthly Income': 2500, Plan: 'pro' },
      { monthly_income: 1200, plan: 'basic' },
      // Both given: the stored name wins.
      { monthly_income: 10, 'Monthly Income': 20, plan: 'x' },
    ]);
    expect(Array.from(cols[0]!.data as Float32Array)).toEqual([2500, 1200, 10]);
    expect(cols[1]!.data).toEqual(['pro', 'basic', 'x']);
    expect(() => recordsToColumns(withHeaders, [{ 'monthly income': 1, plan: 'x' }])).toThrow('records[0].monthly_income: missing feature');
  });
});
