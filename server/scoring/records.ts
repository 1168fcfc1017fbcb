import { booleanWord } from '../domain/boolean-words';
import type { FeatureInput, FeatureSchema } from '../ml/onnx/feature-schema';

/**
 * Turns raw JSON records into one column per model input, validating every field against the
 * feature schema. Pure (no onnxruntime), so the rules are unit-tested on their own.
 */

export type RecordIssue = { record: number; field: string; message: string };

/** Bad input from a scoring client: the edge answers 400 with the first issue's record and field. */
export class RecordInputError extends Error {
  /** "records[3].age": the first bad field, as the API reports it. */
  readonly field: string;
  constructor(readonly issues: RecordIssue[]) {
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more ${issues.length === 2 ? 'issue' : 'issues'})` : '';
    super(`records[${first.record}]${first.field ? `.${first.field}` : ''}: ${first.message}${more}`);
    this.name = 'RecordInputError';
    this.field = `records[${first.record}]${first.field ? `.${first.field}` : ''}`;
  }
}

export type InputColumn =
  | { input: string; dims: number[]; type: 'float32'; data: Float32Array }
  | { input: string; dims: number[]; type: 'float64'; data: Float64Array }
  | { input: string; dims: number[]; type: 'int64'; data: BigInt64Array }
  | { input: string; dims: number[]; type: 'int32'; data: Int32Array }
  | { input: string; dims: number[]; type: 'bool'; data: Uint8Array }
  | { input: string; dims: number[]; type: 'string'; data: string[] };

const MAX_ISSUES = 100;

/**
 * The model's input tensors for `records`: one column per feature, packed into one `[N, k]` tensor
 * for the features that share a packed input (FeatureInput.column).
 */
export function recordsToColumns(schema: FeatureSchema, records: readonly unknown[]): InputColumn[] {
  return packColumns(schema.inputs, featureColumns(schema, records));
}

/**
 * One column per feature of the schema (in its order), before packing. Plain loops and top-level
 * helpers, no closures made per call: this runs on every predict request, and each closure is an
 * allocation (and, under tsx's keepNames, a `name` property defined).
 */
export function featureColumns(schema: FeatureSchema, records: readonly unknown[]): InputColumn[] {
  const n = records.length;
  const issues: RecordIssue[] = [];
  const objects = new Array<Record<string, unknown> | null>(n);
  for (let i = 0; i < n; i++) {
    const r = records[i];
    if (typeof r === 'object' && r !== null && !Array.isArray(r)) {
      objects[i] = r as Record<string, unknown>;
    } else {
      objects[i] = null;
      report(issues, i, '', `expected an object of features, got ${describe(r)}`);
    }
  }
  const columns = new Array<InputColumn>(schema.inputs.length);
  for (let c = 0; c < schema.inputs.length; c++) columns[c] = column(schema.inputs[c]!, objects, issues);
  if (issues.length) throw new RecordInputError(issues.sort((a, b) => a.record - b.record));
  return columns;
}

/**
 * Interleaves the columns of features that share a packed input into one row-major `[N, k]` tensor
 * (k = the number of features naming that input, each at its `column`); other columns pass through.
 * `columns[i]` is feature `features[i]`'s column.
 */
export function packColumns(features: readonly FeatureInput[], columns: InputColumn[]): InputColumn[] {
  if (!isPacked(features)) return columns;
  const out: InputColumn[] = [];
  const groups = new Map<string, { at: number; parts: { column: number; c: InputColumn }[] }>();
  columns.forEach((c, i) => {
    const column = features[i]!.column;
    if (column === undefined) return void out.push(c);
    let g = groups.get(c.input);
    if (!g) {
      g = { at: out.length, parts: [] };
      groups.set(c.input, g);
      out.push(c); // placeholder, replaced below
    }
    g.parts.push({ column, c });
  });
  for (const [input, g] of groups) {
    const k = g.parts.length;
    const first = g.parts[0]!.c;
    const n = first.data.length;
    const data = first.type === 'string' ? new Array<string>(n * k) : new (first.data.constructor as new (size: number) => Float32Array)(n * k);
    for (const { column, c } of g.parts) {
      const src = c.data as ArrayLike<unknown>;
      const dst = data as unknown as unknown[];
      for (let r = 0; r < n; r++) dst[r * k + column] = src[r];
    }
    out[g.at] = { input, dims: [n, k], type: first.type, data } as InputColumn;
  }
  return out;
}

function report(issues: RecordIssue[], record: number, field: string, message: string): void {
  if (issues.length < MAX_ISSUES) issues.push({ record, field, message });
}

/** One input's column from every record that is an object; each bad field noted in `issues`. */
function column(f: FeatureInput, objects: readonly (Record<string, unknown> | null)[], issues: RecordIssue[]): InputColumn {
  const col = emptyColumn(f, objects.length);
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i];
    if (!o) continue;
    const v = fieldOf(o, f);
    const problem = v === undefined ? 'missing feature' : setCell(f, col, i, v);
    if (problem !== null) report(issues, i, f.name, problem);
  }
  return col;
}

/** The field's value: under the stored name, or the name as the user wrote it (the CSV header) when the model knows it. */
function fieldOf(o: Record<string, unknown>, f: FeatureInput): unknown {
  const key = Object.hasOwn(o, f.name) || f.header === undefined || !Object.hasOwn(o, f.header) ? f.name : f.header;
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function emptyColumn(f: FeatureInput, n: number): InputColumn {
  const dims = f.rank === 2 ? [n, 1] : [n];
  switch (f.tensor) {
    case 'float':
      return { input: f.input, dims, type: 'float32', data: new Float32Array(n) };
    case 'double':
      return { input: f.input, dims, type: 'float64', data: new Float64Array(n) };
    case 'int64':
      return { input: f.input, dims, type: 'int64', data: new BigInt64Array(n) };
    case 'int32':
      return { input: f.input, dims, type: 'int32', data: new Int32Array(n) };
    case 'bool':
      return { input: f.input, dims, type: 'bool', data: new Uint8Array(n) };
    case 'string':
      return { input: f.input, dims, type: 'string', data: new Array<string>(n).fill('') };
  }
}

/** Writes record `i`'s value into the column, or says what is wrong with it. */
function setCell(f: FeatureInput, col: InputColumn, i: number, v: unknown): string | null {
  switch (col.type) {
    case 'float32':
    case 'float64': {
      const x = numberFor(f, v);
      if (typeof x === 'string') return x;
      col.data[i] = x;
      return null;
    }
    case 'int64':
    case 'int32': {
      const x = numberFor(f, v);
      if (typeof x === 'string') return x;
      if (Number.isNaN(x)) return `null is not allowed: this model's input is an integer tensor`;
      if (!Number.isSafeInteger(x) || (col.type === 'int32' && Math.abs(x) > 2 ** 31 - 1)) return `expected an integer, got ${describe(v)}`;
      if (col.type === 'int64') col.data[i] = BigInt(x);
      else col.data[i] = x;
      return null;
    }
    case 'bool':
      if (v === true || v === 1) col.data[i] = 1;
      else if (v === false || v === 0) col.data[i] = 0;
      else return `expected true or false, got ${describe(v)}`;
      return null;
    case 'string':
      // Exactly as training reads a category: null is the missing category "", numbers and
      // booleans their String(); a category never seen in training is the model's business.
      if (v === null) col.data[i] = '';
      else if (typeof v === 'string') col.data[i] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') col.data[i] = String(v);
      else return `expected a string or null, got ${describe(v)}`;
      return null;
  }
}

function isPacked(features: readonly FeatureInput[]): boolean {
  for (let i = 0; i < features.length; i++) if (features[i]!.column !== undefined) return true;
  return false;
}

/** A number for a float/int input (NaN for null), or what is wrong with the value. */
function numberFor(f: FeatureInput, v: unknown): number | string {
  if (v === null) return NaN;
  if (typeof v === 'number') return Number.isFinite(v) ? v : `expected a finite number, got ${v}`;
  if (f.type === 'boolean') {
    // The spellings an upload reads as booleans: true/false, yes/no, t/f, y/n, 1/0 (any case).
    const b = typeof v === 'boolean' ? v : typeof v === 'string' ? booleanWord(v) : null;
    if (b !== null) return b ? 1 : 0;
    return `expected true or false (or yes/no, 1/0) or null, got ${describe(v)}`;
  }
  return `expected a number or null, got ${describe(v)}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
