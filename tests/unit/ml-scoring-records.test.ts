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
      { age: '30', active: 'yes', plan: ['pro'], visits: 1.5 },
      'not a record',
      { age: 1, active: true, plan: 'pro', visits: null },
    ]);
    expect(err.message).toBe('records[1].age: missing feature (and 6 more issues)');
    expect(err.field).toBe('records[1].age');
    expect(err.issues).toEqual([
      { record: 1, field: 'age', message: 'missing feature' },
      { record: 2, field: 'age', message: 'expected a number or null, got a string ("30")' },
      { record: 2, field: 'active', message: 'expected true, false or null, got a string ("yes")' },
      { record: 2, field: 'plan', message: 'expected a string or null, got an array' },
      { record: 2, field: 'visits', message: 'expected an integer, got number 1.5' },
      { record: 3, field: '', message: 'expected an object of features, got a string ("not a record")' },
      { record: 4, field: 'visits', message: "null is not allowed: this model's input is an integer tensor" },
    ].sort((a, b) => a.record - b.record));
  });
});
