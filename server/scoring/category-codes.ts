import { endianness } from 'node:os';
import * as ort from 'onnxruntime-node';
import { decodeModel, ElemType, ML_DOMAIN, onnx } from '../ml/onnx/proto';
import type { InputColumn } from './records';

/**
 * Batch scoring's models without their string inputs. A string tensor costs onnxruntime-node a JS
 * string read and two std::string copies per element, then a hash of each in LabelEncoder: for a
 * logistic regression over 6 categories that was most of a batch's run. Where a string input's only
 * reader is a LabelEncoder from strings to int64s or floats, the batch model drops that node and
 * takes its output as an input instead (the code, in the encoder's own type); the caller looks each
 * distinct category up here once (CategoryCodes) and feeds the codes. Same outputs bit for bit: the
 * codes are the encoder's own values for the same exact-string match, its default for the rest.
 * Any other graph (an imported file may hold anything) keeps its string inputs.
 */

/** One string input replaced by its LabelEncoder's output. */
export type CategoryCodes = {
  /** The model input the codes are fed under (the encoder's output). */
  input: string;
  type: 'int64' | 'float32';
  /** Each key's code, by the key's text. */
  codes: ReadonlyMap<string, number>;
  /** The code of any other value. */
  fallback: number;
};

/** A batch scoring session and, by the original input's name, the string inputs it takes as codes. */
export type BatchModel = { session: ort.InferenceSession; categoryCodes: ReadonlyMap<string, CategoryCodes> };

type Model = ReturnType<typeof decodeModel>;
type Node = NonNullable<NonNullable<Model['graph']>['node']>[number];
type Attribute = NonNullable<Node['attribute']>[number];
type Long = { toString(): string };

const num = (v: number | Long | null | undefined): number => (v == null ? NaN : typeof v === 'number' ? v : Number(v.toString()));

/** Opens a batch session on `bytes` (already verified), its string inputs as codes where that is exact. */
export async function openBatchModel(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<BatchModel> {
  const rewritten = withCategoryCodes(decodeModel(bytes));
  if (rewritten.categoryCodes.size > 0) {
    try {
      return { session: await ort.InferenceSession.create(rewritten.bytes, options), categoryCodes: rewritten.categoryCodes };
    } catch {
      // A graph onnxruntime reads only with its string inputs (a shape it infers from them): keep them.
    }
  }
  return { session: await ort.InferenceSession.create(bytes, options), categoryCodes: new Map() };
}

/** The model with each string input whose only reader is a plain string LabelEncoder fed as that encoder's output. */
export function withCategoryCodes(model: Model): { bytes: Uint8Array; categoryCodes: Map<string, CategoryCodes> } {
  const categoryCodes = new Map<string, CategoryCodes>();
  const g = model.graph;
  if (!g || (g.node ?? []).some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0))) return { bytes: new Uint8Array(), categoryCodes };
  const outputs = new Set((g.output ?? []).map((o) => o.name));
  const initializers = new Set((g.initializer ?? []).map((t) => t.name));
  const dropped = new Set<Node>();
  for (const input of g.input ?? []) {
    const tensor = input.type?.tensorType;
    if (!tensor || tensor.elemType !== ElemType.STRING || !input.name || outputs.has(input.name) || initializers.has(input.name)) continue;
    const readers = (g.node ?? []).filter((n) => (n.input ?? []).includes(input.name!));
    const encoder = readers.length === 1 ? readers[0]! : null;
    const codes = encoder ? codesOf(encoder) : null;
    const output = encoder?.output?.[0];
    if (!codes || !output || outputs.has(output) || encoder!.input!.length !== 1 || encoder!.output!.length !== 1) continue;
    categoryCodes.set(input.name, { ...codes, input: output });
    dropped.add(encoder!);
    input.name = output;
    tensor.elemType = codes.type === 'int64' ? ElemType.INT64 : ElemType.FLOAT;
  }
  if (dropped.size === 0) return { bytes: new Uint8Array(), categoryCodes };
  g.node = (g.node ?? []).filter((n) => !dropped.has(n));
  const renamed = new Set([...categoryCodes.values()].map((c) => c.input));
  g.valueInfo = (g.valueInfo ?? []).filter((v) => !renamed.has(v.name ?? ''));
  return { bytes: onnx.ModelProto.encode(model).finish(), categoryCodes };
}

/**
 * A LabelEncoder's string keys and int64 or float values, when it is one of those and nothing else
 * (no tensor attributes of opset 4, an explicit default, no key twice).
 */
function codesOf(n: Node): Omit<CategoryCodes, 'input'> | null {
  if (n.opType !== 'LabelEncoder' || n.domain !== ML_DOMAIN) return null;
  const attrs = new Map<string, Attribute>((n.attribute ?? []).map((a) => [a.name ?? '', a]));
  const known = ['keys_strings', 'values_int64s', 'values_floats', 'default_int64', 'default_float'];
  if ([...attrs.keys()].some((k) => !known.includes(k))) return null;
  const keys = attrs.get('keys_strings')?.strings ?? [];
  const ints = attrs.get('values_int64s')?.ints;
  const floats = attrs.get('values_floats')?.floats;
  const type = ints && !floats ? 'int64' : floats && !ints ? 'float32' : null;
  const values = type === 'int64' ? ints!.map(num) : (floats ?? []);
  const fallback = type === 'int64' ? num(attrs.get('default_int64')?.i) : attrs.get('default_float')?.f;
  if (!type || keys.length === 0 || keys.length !== values.length || fallback === undefined || fallback === null) return null;
  // int64 codes feed through an Int32Array pair per value (see toCodeColumn): small integers only.
  if (type === 'int64' && ![...values, fallback].every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31)) return null;
  const codes = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) {
    const bytes = Buffer.from(keys[i]!);
    const text = bytes.toString('utf8');
    if (codes.has(text)) return null;
    // A key that is not valid UTF-8 matches no input (a JS string's UTF-8 always is): it has no code.
    if (Buffer.from(text, 'utf8').equals(bytes)) codes.set(text, values[i]!);
  }
  return { type, codes, fallback };
}

/** A code column for rows of `n` codes: a Float32Array, or a BigInt64Array written through its 32-bit halves. */
export class CodeColumn {
  readonly data: Float32Array | BigInt64Array;
  /** The BigInt64Array's 32-bit halves (little-endian), or null (a Float32Array, or a big-endian machine). */
  readonly words: Int32Array | null;
  constructor(
    readonly codes: CategoryCodes,
    n: number,
  ) {
    if (codes.type === 'float32') {
      this.data = new Float32Array(n);
      this.words = null;
    } else {
      this.data = new BigInt64Array(n);
      this.words = LITTLE_ENDIAN ? new Int32Array(this.data.buffer) : null;
    }
  }

  /** Sets element i to `code` (a value of codeOf). */
  set(i: number, code: number): void {
    if (this.words) {
      // Little-endian halves: low word, then the sign.
      this.words[2 * i] = code;
      this.words[2 * i + 1] = code < 0 ? -1 : 0;
    } else if (this.data instanceof Float32Array) this.data[i] = code;
    else this.data[i] = BigInt(code);
  }

  column(dims: number[]): InputColumn {
    return this.data instanceof Float32Array ? { input: this.codes.input, dims, type: 'float32', data: this.data } : { input: this.codes.input, dims, type: 'int64', data: this.data };
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

export const codeOf = (codes: CategoryCodes, text: string): number => codes.codes.get(text) ?? codes.fallback;

/** The columns with every string column the model takes as codes turned into its codes (the cursor path's records). */
export function toCodeColumns(columns: InputColumn[], categoryCodes: ReadonlyMap<string, CategoryCodes>): InputColumn[] {
  if (categoryCodes.size === 0) return columns;
  return columns.map((c) => {
    const codes = c.type === 'string' ? categoryCodes.get(c.input) : undefined;
    if (!codes || c.type !== 'string') return c;
    const out = new CodeColumn(codes, c.data.length);
    for (let i = 0; i < c.data.length; i++) out.set(i, codeOf(codes, c.data[i]!));
    return out.column(c.dims);
  });
}
