import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '@/server/ml/onnx/export';
import { attr, ElemType, encodeModel, ML_DOMAIN, node, tensorValue } from '@/server/ml/onnx/proto';
import { trainModel } from '@/server/ml/train';
import type { CellValue } from '@/server/ml/types';
import { openBatchModel } from '@/server/scoring/category-codes';
import { recordsToColumns } from '@/server/scoring/records';
import { BATCH_SESSION_OPTIONS, predict, SESSION_OPTIONS } from '@/server/scoring/session-cache';

/** x (numeric, missing on every 9th row), kind and tone (categories: "" on every 7th, one never seen in training on every 5th). */
function table(n: number, unseen: boolean) {
  const x: CellValue[] = [];
  const kind: CellValue[] = [];
  const tone: CellValue[] = [];
  const y: CellValue[] = [];
  for (let i = 0; i < n; i++) {
    const v = ((i * 37) % 100) / 10;
    x.push(i % 9 === 0 ? null : v);
    kind.push(i % 7 === 0 ? '' : unseen && i % 5 === 0 ? 'never' : ['a', 'b', 'déjà', '🙂'][i % 4]!);
    tone.push(unseen && i % 5 === 1 ? 'zzz' : `t${i % 11}`);
    y.push(v + (i % 4 === 0 ? 2 : 0) + (i % 11) / 3 + ((i * 13) % 7) / 2 > 8 ? 'yes' : 'no');
  }
  return {
    columns: { x, kind, tone, y },
    schema: [
      { name: 'x', type: 'numeric' as const },
      { name: 'kind', type: 'categorical' as const },
      { name: 'tone', type: 'categorical' as const },
      { name: 'y', type: 'categorical' as const },
    ],
  };
}

const records = (() => {
  const t = table(3_000, true);
  return t.columns.x.map((x, i) => ({ x, kind: i % 17 === 0 ? null : t.columns.kind[i], tone: t.columns.tone[i] }));
})();

async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const out = await session.run(feeds, ['label', 'probabilities']);
  return { label: [...(out.label!.data as BigInt64Array)], probabilities: Buffer.from((out.probabilities!.data as Float32Array).buffer) };
}

describe('batch scoring models take their categories as codes', () => {
  for (const algorithm of ['logistic_regression', 'gradient_boosted_trees'] as const) {
    it(`scores a ${algorithm} bit for bit as the model as stored does, unseen and missing categories included`, async () => {
      const { model } = await trainModel(table(2_000, false), {
        algorithm,
        target: 'y',
        positiveClass: 'yes',
        categorical: { minFrequency: 1 },
        ...(algorithm === 'gradient_boosted_trees' ? { params: { maxIter: 20 } } : {}),
      });
      const { bytes, schema } = exportOnnx(model);
      const batch = await openBatchModel(bytes, BATCH_SESSION_OPTIONS);
      expect([...batch.categoryCodes.keys()].sort()).toEqual(['kind', 'tone']);
      expect(batch.session.inputNames).not.toContain('kind');

      const stored = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
      const feeds: Record<string, ort.Tensor> = {};
      for (const c of recordsToColumns(schema, records)) feeds[c.input] = new ort.Tensor(c.type, c.data, c.dims);
      const expected = await run(stored, feeds);
      const predicted = await predict(batch, schema, records);
      expect(predicted.map((p) => p.label)).toEqual(expected.label.map((l) => (l === 1n ? 'yes' : 'no')));
      expect(Buffer.from(Float32Array.from(predicted, (p) => p.probabilities.pos).buffer)).toEqual(
        Buffer.from(Float32Array.from(records, (_, i) => expected.probabilities.readFloatLE(8 * i + 4)).buffer),
      );
    });
  }

  it('keeps a string input as strings when anything but one plain string LabelEncoder reads it', async () => {
    const encoder = (input: string, out: string, values: ReturnType<typeof attr.ints>) =>
      node('LabelEncoder', [input], [out], [attr.strings('keys_strings', ['a', 'b']), values, attr.int('default_int64', -1)], ML_DOMAIN);
    const bytes = encodeModel({
      irVersion: 8,
      opsets: { onnx: 15, ml: 3 },
      graphName: 'g',
      nodes: [
        // "twice" is read by two encoders; "plain" by one, which keeps its codes; "named" maps to strings.
        encoder('twice', 'c1', attr.ints('values_int64s', [0, 1])),
        encoder('twice', 'c2', attr.ints('values_int64s', [1, 0])),
        encoder('plain', 'c3', attr.ints('values_int64s', [5, 6])),
        node('LabelEncoder', ['named'], ['s'], [attr.strings('keys_strings', ['a']), attr.strings('values_strings', ['b']), attr.string('default_string', 'z')], ML_DOMAIN),
        node('LabelEncoder', ['s'], ['c4'], [attr.strings('keys_strings', ['b']), attr.ints('values_int64s', [7]), attr.int('default_int64', -1)], ML_DOMAIN),
        node('Concat', ['c1', 'c2', 'c3', 'c4'], ['label'], [attr.int('axis', 1)]),
      ],
      inputs: ['twice', 'plain', 'named'].map((n) => tensorValue(n, ElemType.STRING, ['N', 1])),
      outputs: [tensorValue('label', ElemType.INT64, ['N', 4])],
      initializers: [],
      producerVersion: '0',
      docString: '',
      metadata: {},
    });
    const batch = await openBatchModel(bytes, SESSION_OPTIONS);
    expect([...batch.categoryCodes]).toEqual([
      [
        'plain',
        {
          input: 'c3',
          type: 'int64',
          codes: new Map([
            ['a', 5],
            ['b', 6],
          ]),
          fallback: -1,
        },
      ],
    ]);
    expect([...batch.session.inputNames].sort()).toEqual(['c3', 'named', 'twice']);
    const s = (v: string[]) => new ort.Tensor('string', v, [v.length, 1]);
    const out = await batch.session.run({ twice: s(['a', 'q']), c3: new ort.Tensor('int64', BigInt64Array.from([6n, -1n]), [2, 1]), named: s(['a', 'b']) });
    expect([...(out.label!.data as BigInt64Array)]).toEqual([0n, 1n, 6n, 7n, -1n, -1n, -1n, -1n]);
  });
});
