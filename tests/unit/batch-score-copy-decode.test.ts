import { describe, expect, it } from 'vitest';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { CategoryCodes } from '@/server/scoring/category-codes';
import { ColumnDecoder, type PlannedFeature } from '@/server/services/models/copy-columns';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, encodeTuples, TupleSplitter, type TupleBatch } from '@/server/services/models/pg-binary-copy';

/**
 * id (int4), x (float8, NULL on every 7th row), kind (text, NULL on every 13th, 6000 distinct values
 * past row 500, two of them with the same 32-bit FNV-1a hash), note (text, passed through).
 */
type Row = { id: number; x: number | null; kind: string | null; note: string };
const ROWS = 7_000;
const rows: Row[] = Array.from({ length: ROWS }, (_, i) => ({
  id: i + 1,
  x: i % 7 === 0 ? null : i / 8 - 300,
  kind: i % 13 === 0 ? null : i < 500 ? ['a', 'bb', 'déjà', '🙂'][i % 4]! : i % 5 === 1 ? ['k132789', 'k729192'][i % 2]! : `k${i}`,
  note: 'n'.repeat(i % 50),
}));

function field(bytes: Buffer | null): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(bytes ? bytes.length : -1);
  return bytes ? Buffer.concat([len, bytes]) : len;
}
function float8(x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b;
}
function tuple(r: Row): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(4);
  const id = Buffer.alloc(4);
  id.writeInt32BE(r.id);
  return Buffer.concat([count, field(id), field(r.x === null ? null : float8(r.x)), field(r.kind === null ? null : Buffer.from(r.kind)), field(Buffer.from(r.note))]);
}
const stream = Buffer.concat([BINARY_COPY_HEADER, ...rows.map(tuple), BINARY_COPY_TRAILER]);

const schema: FeatureSchema = {
  version: 1,
  inputs: [
    { name: 'x', input: 'x', type: 'numeric', tensor: 'float', rank: 2 },
    { name: 'kind', input: 'kind', type: 'categorical', tensor: 'string', rank: 2 },
  ],
  outputs: { label: 'label', probabilities: 'probabilities' },
  classes: ['no', 'yes'],
  labelValues: [0, 1],
  positiveIndex: 1,
};
const features: PlannedFeature[] = [
  { feature: schema.inputs[0]!, field: 1, kind: 'float8' },
  { feature: schema.inputs[1]!, field: 2, kind: 'text' },
];

/** The stream fed in chunks of `size` bytes. */
function split(size: number, batchRows: number): TupleBatch[] {
  const splitter = new TupleSplitter({ fieldCount: 4, passFields: 4, pick: [1, 2], batchRows });
  const batches: TupleBatch[] = [];
  for (let at = 0; at < stream.length; at += size) batches.push(...splitter.push(stream.subarray(at, at + size)));
  batches.push(splitter.end());
  return batches;
}

describe('batch scoring binary COPY: splitting and decoding', () => {
  it('cuts the stream into batches of whole tuples wherever the chunks end, and writes them back unchanged with the appended fields', () => {
    for (const size of [7, 19, 4096, 65_536, stream.length]) {
      const batches = split(size, 3_000);
      expect(batches.map((b) => [b.firstRow, b.rows])).toEqual([
        [0, 3_000],
        [3_000, 3_000],
        [6_000, 1_000],
      ]);
      const written = batches.map((b) => encodeTuples(b, 4, [{ bytes: Array.from({ length: b.rows }, (_, r) => Buffer.from(String(b.firstRow + r))) }, { float8: (r) => r / 2 }, { int8: 42n }]));
      const expected = rows.map((row, i) => {
        const t = tuple(row);
        t.writeInt16BE(7);
        const version = Buffer.alloc(8);
        version.writeBigInt64BE(42n);
        return Buffer.concat([t, field(Buffer.from(String(i))), field(float8((i % 3_000) / 2)), field(version)]);
      });
      expect(Buffer.concat(written).equals(Buffer.concat(expected))).toBe(true);
    }
  });

  it('decodes numbers, NULLs and categories (kept, colliding or past the cap) into the model inputs, NULL as NaN and ""', () => {
    const decoder = new ColumnDecoder(schema, features);
    const decoded = split(1_000, 2_500).flatMap((b) => {
      const [x, kind] = decoder.columns(b)!;
      return Array.from({ length: b.rows }, (_, r) => ({ x: x!.data[r], kind: kind!.data[r] }));
    });
    expect(decoded).toEqual(rows.map((r) => ({ x: r.x === null ? NaN : Math.fround(r.x), kind: r.kind ?? '' })));
  });

  it('decodes categories straight into the model\'s codes where it takes codes (kept, colliding, past the cap, NULL as ""\'s code)', () => {
    for (const type of ['int64', 'float32'] as const) {
      const codes: CategoryCodes = {
        input: 'kind.code',
        type,
        codes: new Map([
          ['', 7],
          ['bb', 2],
          ['🙂', -3],
          ['k132789', 4],
          ['k729192', 5],
          ['k6999', 6],
        ]),
        fallback: -1,
      };
      const decoder = new ColumnDecoder(schema, features, new Map([['kind', codes]]));
      const decoded = split(1_000, 2_500).flatMap((b) => {
        const [, kind] = decoder.columns(b)!;
        expect(kind).toMatchObject({ input: 'kind.code', type, dims: [b.rows, 1] });
        return Array.from(kind!.data as BigInt64Array | Float32Array, Number);
      });
      expect(decoded).toEqual(rows.map((r) => codes.codes.get(r.kind ?? '') ?? -1));
    }
  });

  it('refuses a batch holding a number the model cannot take', () => {
    const bad = Buffer.concat([BINARY_COPY_HEADER, tuple(rows[1]!), tuple({ ...rows[2]!, x: Infinity }), BINARY_COPY_TRAILER]);
    const splitter = new TupleSplitter({ fieldCount: 4, passFields: 4, pick: [1, 2], batchRows: 10 });
    expect(splitter.push(bad)).toEqual([]);
    expect(new ColumnDecoder(schema, features).columns(splitter.end())).toBeNull();
  });
});
