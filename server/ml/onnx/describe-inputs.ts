import type onnxProto from 'onnx-proto';
import { MlInputError } from '../errors';
import { FEATURE_NAMES_METADATA_KEY, type FeatureInput } from './feature-schema';
import { ElemType } from './proto';

type ValueInfo = onnxProto.onnx.IValueInfoProto;
type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const TENSOR_TYPES: Partial<Record<number, FeatureInput['tensor']>> = {
  [ElemType.FLOAT]: 'float',
  [ElemType.DOUBLE]: 'double',
  [ElemType.INT64]: 'int64',
  [ElemType.INT32]: 'int32',
  [ElemType.STRING]: 'string',
  [ElemType.BOOL]: 'bool',
};
const FEATURE_TYPES: Record<FeatureInput['tensor'], FeatureInput['type']> = {
  float: 'numeric',
  double: 'numeric',
  int64: 'integer',
  int32: 'integer',
  string: 'categorical',
  bool: 'boolean',
};

/** Where the names of a packed input's columns came from. */
export type FeatureNames = { names: string[]; from: 'import' | 'metadata' };

const MAX_NAME = 200;

/**
 * The feature names given at import (`?features=a,b,c`): trimmed, non-empty, unique, printable.
 * Throws MlInputError on the `features` field naming the bad entry.
 */
export function parseFeatureNames(raw: string, from: FeatureNames['from']): FeatureNames {
  let names: unknown;
  const text = raw.trim();
  if (text.startsWith('[')) {
    try {
      names = JSON.parse(text);
    } catch {
      names = null;
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw namesError(from, 'is not a JSON array of strings');
  } else names = text.split(',');
  const list = (names as string[]).map((n) => n.trim());
  list.forEach((n, i) => {
    if (!n) throw namesError(from, `has an empty name at position ${i + 1}`);
    if (n.length > MAX_NAME) throw namesError(from, `has a name longer than ${MAX_NAME} characters at position ${i + 1}`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(n)) throw namesError(from, `has a control character in name ${i + 1}`);
  });
  const seen = new Set<string>();
  for (const n of list) {
    if (seen.has(n)) throw namesError(from, `names "${n}" twice`);
    seen.add(n);
  }
  return { names: list, from };
}

const where = (from: FeatureNames['from']) => (from === 'import' ? 'the features given at import' : `the model's "${FEATURE_NAMES_METADATA_KEY}" metadata`);
const namesError = (from: FeatureNames['from'], problem: string) => new MlInputError(`${where(from)} ${problem}`, from === 'import' ? 'features' : undefined);

/** The names in the file's `feature_names` metadata, if it has any. */
export function metadataFeatureNames(props: readonly { key?: string | null; value?: string | null }[]): FeatureNames | null {
  const value = props.find((p) => p.key === FEATURE_NAMES_METADATA_KEY)?.value;
  return value?.trim() ? parseFeatureNames(value, 'metadata') : null;
}

type Shaped = { name: string; tensor: FeatureInput['tensor']; rank: 1 | 2; width: number | null };

function shapeOf(i: ValueInfo): Shaped {
  const name = i.name ?? '';
  const t = i.type?.tensorType;
  if (!t) throw new MlInputError(`input "${name}" is not a tensor`);
  const tensor = TENSOR_TYPES[t.elemType ?? 0];
  if (!tensor) throw new MlInputError(`input "${name}" has an element type (${t.elemType}) that records cannot fill`);
  const dims = t.shape?.dim ?? [];
  if (dims.length > 2) throw new MlInputError(`input "${name}" has rank ${dims.length}: export one [N,1] input per feature, or one [N, k] input with its feature names`);
  if (dims.length < 2) return { name, tensor, rank: 1, width: 1 };
  const width = dims[1]!.dimValue != null ? num(dims[1]!.dimValue) : 0;
  return { name, tensor, rank: 2, width: width > 0 ? width : null };
}

/**
 * One feature per `[N]` or `[N, 1]` input; a single packed `[N, k]` input becomes k features named,
 * in column order, by `names` (given at import, else the file's metadata). Throws MlInputError when a
 * packed input has no names, a different number of them, or more than one input is packed.
 */
export function describeInputs(graphInputs: ValueInfo[], names: FeatureNames | null): FeatureInput[] {
  const shaped = graphInputs.map(shapeOf);
  const packed = shaped.filter((s) => s.width !== 1);
  if (packed.length === 0) {
    if (names?.from === 'import') {
      throw new MlInputError(`features name the columns of a packed [N, k] input, but every input of this model is one feature already (${shaped.map((s) => s.name).join(', ')}): import it without features`, 'features');
    }
    return shaped.map((s) => ({ name: s.name, input: s.name, type: FEATURE_TYPES[s.tensor], tensor: s.tensor, rank: s.rank }));
  }
  if (packed.length > 1) throw new MlInputError(`inputs ${packed.map((p) => `"${p.name}"`).join(' and ')} each take several columns: only one packed [N, k] input can be served`);
  const p = packed[0]!;
  const columns = p.width ? `${p.width} columns` : 'a variable number of columns';
  if (!names) {
    throw new MlInputError(
      `input "${p.name}" takes ${columns}: give its feature names in column order at import (?features=a,b,c) or in the model's "${FEATURE_NAMES_METADATA_KEY}" metadata, or export one [N,1] input per feature`,
      'features',
    );
  }
  if (p.width && names.names.length !== p.width) {
    throw new MlInputError(`input "${p.name}" takes ${p.width} columns but ${where(names.from)} ${names.names.length === 1 ? 'name 1 feature' : `name ${names.names.length} features`}`, names.from === 'import' ? 'features' : undefined);
  }
  const others = new Set(shaped.filter((s) => s !== p).map((s) => s.name));
  const clash = names.names.find((n) => others.has(n));
  if (clash) throw namesError(names.from, `name "${clash}", which is also another input of the model`);
  return shaped.flatMap((s): FeatureInput[] =>
    s === p
      ? names.names.map((name, column) => ({ name, input: p.name, type: FEATURE_TYPES[p.tensor], tensor: p.tensor, rank: 2, column }))
      : [{ name: s.name, input: s.name, type: FEATURE_TYPES[s.tensor], tensor: s.tensor, rank: s.rank }],
  );
}
