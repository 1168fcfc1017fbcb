import type { FeatureInput, FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { type CategoryCodes, CodeColumn, codeOf } from '@/server/scoring/category-codes';
import { featureColumns, type InputColumn, packColumns, RecordInputError } from '@/server/scoring/records';
import type { TupleBatch } from './pg-binary-copy';

/**
 * A batch's binary COPY fields decoded into a model's input tensors (score-by-copy.ts), with no
 * row objects. Pure (no I/O).
 */

export type SourceKind = 'float8' | 'float4' | 'int8' | 'int4' | 'int2' | 'bool' | 'text';

export type PlannedFeature = { feature: FeatureInput; field: number; kind: SourceKind };

/**
 * The decoder of one scoring job: it keeps each text feature's distinct values between batches
 * (TextValues), so a category is decoded once, not once a row, and, where the model takes a string
 * input as codes (categoryCodes, by input name: category-codes.ts), looked up once.
 */
export class ColumnDecoder {
  private readonly texts: (TextValues | null)[];
  constructor(
    private readonly schema: FeatureSchema,
    private readonly features: readonly PlannedFeature[],
    categoryCodes: ReadonlyMap<string, CategoryCodes> = new Map(),
  ) {
    this.texts = features.map((p) => (p.kind === 'text' && p.feature.tensor === 'string' ? new TextValues(categoryCodes.get(p.feature.input)) : null));
  }

  /**
   * The input columns of a batch, or null when a value is one the model cannot take (the caller
   * reports it as the cursor path would).
   */
  columns(batch: TupleBatch): InputColumn[] | null {
    const columns: InputColumn[] = [];
    const width = this.features.length;
    const n = batch.rows;
    const view = new DataView(batch.buf.buffer, batch.buf.byteOffset, batch.buf.byteLength);
    // Decoded in blocks of rows, each feature in turn: a block's tuples stay in cache across its
    // features, where a pass over the whole batch per feature would read it from memory each time.
    const decoded = this.features.map(({ feature: f, kind }, k): Float32Array | Float64Array | string[] | CodeColumn | null => {
      if (kind !== 'bool' && kind !== 'text' && (f.tensor === 'float' || f.tensor === 'double')) return f.tensor === 'float' ? new Float32Array(n) : new Float64Array(n);
      const texts = this.texts[k];
      if (!texts) return null;
      return texts.codes ? new CodeColumn(texts.codes, n) : new Array<string>(n);
    });
    for (let from = 0; from < n; from += BLOCK_ROWS) {
      const to = Math.min(n, from + BLOCK_ROWS);
      for (let k = 0; k < width; k++) {
        const data = decoded[k];
        if (data instanceof Float32Array || data instanceof Float64Array) {
          if (!readNumbers(this.features[k]!.kind, view, batch.pickOffset, k, width, data, from, to)) return null;
        } else if (data instanceof CodeColumn) readCodes(this.texts[k]!, batch, k, width, data, from, to);
        else if (data) readTexts(this.texts[k]!, batch, k, width, data, from, to);
      }
    }
    for (let k = 0; k < width; k++) {
      const { feature: f, kind } = this.features[k]!;
      const dims = f.rank === 2 ? [n, 1] : [n];
      const data = decoded[k];
      if (data instanceof Float32Array) columns[k] = { input: f.input, dims, type: 'float32', data };
      else if (data instanceof Float64Array) columns[k] = { input: f.input, dims, type: 'float64', data };
      else if (data instanceof CodeColumn) columns[k] = data.column(dims);
      else if (data) columns[k] = { input: f.input, dims, type: 'string', data };
      else {
        // Rarer pairings (integer tensors, booleans, numbers as categories): recordsToColumns itself.
        const records = Array.from({ length: n }, (_, i) => ({ [f.name]: valueAt(kind, batch, i * width + k) }));
        try {
          const [c] = featureColumns({ ...this.schema, inputs: [f] }, records);
          columns[k] = c!;
        } catch (err) {
          if (!(err instanceof RecordInputError)) throw err;
          return null;
        }
      }
    }
    // Features sharing a packed [N, k] input (imported files) become one tensor.
    return packColumns(
      this.features.map((p) => p.feature),
      columns,
    );
  }
}

/** Rows decoded together (see ColumnDecoder.columns): about 256 KB of tuples of 20 numbers. */
const BLOCK_ROWS = 1024;

function readTexts(texts: TextValues, batch: TupleBatch, k: number, width: number, data: string[], from: number, to: number): void {
  const { buf, pickOffset, pickLength } = batch;
  for (let i = from, at = from * width + k; i < to; i++, at += width) {
    const o = pickOffset[at]!;
    // Null is the missing category "", as recordsToColumns reads it.
    data[i] = o < 0 ? '' : texts.of(buf, o, pickLength[at]!);
  }
}

function readCodes(texts: TextValues, batch: TupleBatch, k: number, width: number, data: CodeColumn, from: number, to: number): void {
  const { buf, pickOffset, pickLength } = batch;
  const missing = texts.missingCode();
  for (let i = from, at = from * width + k; i < to; i++, at += width) {
    const o = pickOffset[at]!;
    data.set(i, o < 0 ? missing : texts.code(buf, o, pickLength[at]!));
  }
}

/**
 * Column k's numbers of rows [from, to) into `data` (NaN for NULL); false when one is not finite. One loop per kind,
 * reading through a DataView: a reader called per value cost more than the rest of the decoding.
 */
function readNumbers(kind: SourceKind, view: DataView, pickOffset: Int32Array, k: number, width: number, data: Float32Array | Float64Array, from: number, to: number): boolean {
  let finite = true;
  switch (kind) {
    case 'float8':
      for (let i = from, at = from * width + k; i < to; i++, at += width) {
        const o = pickOffset[at]!;
        const x = o < 0 ? NaN : view.getFloat64(o);
        if (o >= 0 && !Number.isFinite(x)) finite = false;
        data[i] = x;
      }
      return finite;
    case 'bool':
    case 'text':
      throw new Error(`not a number column: ${kind}`);
    default:
      for (let i = from, at = from * width + k; i < to; i++, at += width) {
        const o = pickOffset[at]!;
        const x = o < 0 ? NaN : numberAt(kind, view, o);
        if (o >= 0 && !Number.isFinite(x)) finite = false;
        data[i] = x;
      }
      return finite;
  }
}

function numberAt(kind: SourceKind, view: DataView, o: number): number {
  switch (kind) {
    case 'float8':
      return view.getFloat64(o);
    case 'float4':
      return view.getFloat32(o);
    // Exact below 2^53; above, one correctly rounded addition, as int8::float8 rounds.
    case 'int8':
      return view.getInt32(o) * 4294967296 + view.getUint32(o + 4);
    case 'int4':
      return view.getInt32(o);
    case 'int2':
      return view.getInt16(o);
    case 'bool':
    case 'text':
      throw new Error(`not a number column: ${kind}`);
  }
}

/** A field's value as node-postgres would have read it in the cursor path. */
export function valueAt(kind: SourceKind, batch: TupleBatch, at: number): number | boolean | string | null {
  const o = batch.pickOffset[at]!;
  if (o < 0) return null;
  if (kind === 'bool') return batch.buf[o] !== 0;
  if (kind === 'text') return batch.buf.toString('utf8', o, o + batch.pickLength[at]!);
  return numberAt(kind, new DataView(batch.buf.buffer, batch.buf.byteOffset, batch.buf.byteLength), o);
}

/** Values longer than this are decoded each time: categories are short. */
const MAX_KEPT_BYTES = 64;
/** Distinct values kept per column: past this (an id, free text), new values are decoded each time. */
const MAX_KEPT_VALUES = 4096;

/**
 * A text column's distinct values by their bytes: a category repeats on most rows, and decoding it
 * anew each time (a string made per row, then collected) cost more than scoring a linear model.
 * The same strings as `buf.toString('utf8', ...)` (that is how each is made, once).
 */
export class TextValues {
  private readonly kept = new Map<number, { bytes: Uint8Array; text: string; code: number }>();
  /** The model's codes for this column, when it takes them instead of strings. */
  constructor(readonly codes?: CategoryCodes) {}

  of(buf: Buffer, o: number, length: number): string {
    return this.entry(buf, o, length)?.text ?? buf.toString('utf8', o, o + length);
  }

  /** The value's code (the column has codes). */
  code(buf: Buffer, o: number, length: number): number {
    return this.entry(buf, o, length)?.code ?? codeOf(this.codes!, buf.toString('utf8', o, o + length));
  }

  /** The code of NULL, read as the missing category "". */
  missingCode(): number {
    return codeOf(this.codes!, '');
  }

  /** The value kept for these bytes, keeping it if there is room; null for one decoded each time. */
  private entry(buf: Buffer, o: number, length: number): { text: string; code: number } | null {
    if (length > MAX_KEPT_BYTES) return null;
    // FNV-1a over the bytes, with the length: the key of the one value kept under it.
    let h = 0x811c9dc5 ^ length;
    for (let j = o; j < o + length; j++) h = Math.imul(h ^ buf[j]!, 0x01000193);
    const hit = this.kept.get(h);
    if (hit && hit.bytes.length === length) {
      const bytes = hit.bytes;
      let same = true;
      for (let j = 0; j < length; j++) {
        if (bytes[j] !== buf[o + j]) {
          same = false;
          break;
        }
      }
      if (same) return hit;
    }
    // A colliding value is decoded each time; the first one keeps the key.
    if (hit || this.kept.size >= MAX_KEPT_VALUES) return null;
    const text = buf.toString('utf8', o, o + length);
    const kept = { bytes: Uint8Array.prototype.slice.call(buf, o, o + length), text, code: this.codes ? codeOf(this.codes, text) : NaN };
    this.kept.set(h, kept);
    return kept;
  }
}
