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

type Decoded = Float32Array | Float64Array | string[] | CodeColumn | null;

/**
 * The decoder of one scoring job: it keeps each text feature's distinct values between batches
 * (TextValues), so a category is decoded once, not once a row, and, where the model takes a string
 * input as codes (categoryCodes, by input name: category-codes.ts), looked up once.
 */
export class ColumnDecoder {
  private readonly texts: (TextValues | null)[];
  /** The arrays of the last two batches, by feature: a batch's are reused two batches later. */
  private readonly reused: [Decoded[], Decoded[]] = [[], []];
  private turn = 0;
  constructor(
    private readonly schema: FeatureSchema,
    private readonly features: readonly PlannedFeature[],
    categoryCodes: ReadonlyMap<string, CategoryCodes> = new Map(),
  ) {
    this.texts = features.map((p) => (p.kind === 'text' && p.feature.tensor === 'string' ? new TextValues(categoryCodes.get(p.feature.input)) : null));
  }

  /**
   * The input columns of a batch, or null when a value is one the model cannot take (the caller
   * reports it as the cursor path would). Their arrays are the decoder's again at the call after
   * next (megabytes a batch: allocated each time, they kept V8's collector marking the heap), so a
   * batch's run must be over by then, as it is in score-by-copy.ts.
   */
  columns(batch: TupleBatch): InputColumn[] | null {
    const columns: InputColumn[] = [];
    const width = this.features.length;
    const n = batch.rows;
    const view = new DataView(batch.buf.buffer, batch.buf.byteOffset, batch.buf.byteLength);
    // Decoded in blocks of rows, each feature in turn: a block's tuples stay in cache across its
    // features, where a pass over the whole batch per feature would read it from memory each time.
    const reused = this.reused[(this.turn ^= 1) as 0 | 1];
    const decoded = this.features.map((_, k) => {
      const last = reused[k];
      return last && (last instanceof CodeColumn ? last.data.length : last.length) === n ? last : (reused[k] = this.newColumn(k, n));
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

  private newColumn(k: number, n: number): Decoded {
    const { feature: f, kind } = this.features[k]!;
    if (kind !== 'bool' && kind !== 'text' && (f.tensor === 'float' || f.tensor === 'double')) return f.tensor === 'float' ? new Float32Array(n) : new Float64Array(n);
    const texts = this.texts[k];
    if (!texts) return null;
    return texts.codes ? new CodeColumn(texts.codes, n) : new Array<string>(n);
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
  const keptCodes = texts.keptCodes;
  const words = data.words;
  for (let i = from, at = from * width + k; i < to; i++, at += width) {
    const o = pickOffset[at]!;
    let code = missing;
    if (o >= 0) {
      const kept = texts.index(buf, o, pickLength[at]!);
      code = kept >= 0 ? keptCodes[kept]! : texts.code(buf, o, pickLength[at]!);
    }
    if (words) {
      words[2 * i] = code;
      // The high word: the sign (codes are 32-bit integers).
      words[2 * i + 1] = code >> 31;
    } else data.set(i, code);
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
/** Slots of the open-addressing table (a power of two, twice the values kept). */
const SLOTS = 2 * MAX_KEPT_VALUES;

/**
 * A text column's distinct values by their bytes: a category repeats on most rows, and decoding it
 * anew each time (a string made per row, then collected) cost more than scoring a linear model.
 * The same strings as `buf.toString('utf8', ...)` (that is how each is made, once), and, when the
 * model takes the column as codes, each value's code, looked up once. Kept in an open-addressing
 * table over a byte arena (a Map of objects cost about as much as the rest of the decoding).
 */
export class TextValues {
  /** Per slot: the kept value's index + 1, 0 when empty. */
  private readonly slots = new Int32Array(SLOTS);
  private arena = new Uint8Array(1 << 12);
  private arenaUsed = 0;
  private readonly starts = new Int32Array(MAX_KEPT_VALUES);
  private readonly lengths = new Int32Array(MAX_KEPT_VALUES);
  private readonly texts: string[] = [];
  /** Each kept value's code (the column has codes). */
  readonly keptCodes = new Float64Array(MAX_KEPT_VALUES);

  /** The model's codes for this column, when it takes them instead of strings. */
  constructor(readonly codes?: CategoryCodes) {}

  of(buf: Buffer, o: number, length: number): string {
    const kept = this.index(buf, o, length);
    return kept >= 0 ? this.texts[kept]! : buf.toString('utf8', o, o + length);
  }

  /** The value's code (the column has codes). */
  code(buf: Buffer, o: number, length: number): number {
    const kept = this.index(buf, o, length);
    return kept >= 0 ? this.keptCodes[kept]! : codeOf(this.codes!, buf.toString('utf8', o, o + length));
  }

  /** The code of NULL, read as the missing category "". */
  missingCode(): number {
    return codeOf(this.codes!, '');
  }

  /** The index of the value kept for these bytes, keeping it if there is room; -1 for one decoded each time. */
  index(buf: Buffer, o: number, length: number): number {
    if (length > MAX_KEPT_BYTES) return -1;
    // FNV-1a over the bytes, with the length.
    let h = 0x811c9dc5 ^ length;
    for (let j = o; j < o + length; j++) h = Math.imul(h ^ buf[j]!, 0x01000193);
    const arena = this.arena;
    for (let s = (h ^ (h >>> 15)) & (SLOTS - 1); ; s = (s + 1) & (SLOTS - 1)) {
      const e = this.slots[s]! - 1;
      if (e < 0) return this.keep(s, buf, o, length);
      if (this.lengths[e] !== length) continue;
      const at = this.starts[e]!;
      let j = 0;
      while (j < length && arena[at + j] === buf[o + j]) j++;
      if (j === length) return e;
    }
  }

  private keep(slot: number, buf: Buffer, o: number, length: number): number {
    const e = this.texts.length;
    if (e >= MAX_KEPT_VALUES) return -1;
    if (this.arenaUsed + length > this.arena.length) {
      const grown = new Uint8Array(Math.max(2 * this.arena.length, this.arenaUsed + length));
      grown.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = grown;
    }
    this.arena.set(buf.subarray(o, o + length), this.arenaUsed);
    this.starts[e] = this.arenaUsed;
    this.lengths[e] = length;
    this.arenaUsed += length;
    const text = buf.toString('utf8', o, o + length);
    this.texts.push(text);
    if (this.codes) this.keptCodes[e] = codeOf(this.codes, text);
    this.slots[slot] = e + 1;
    return e;
  }
}
