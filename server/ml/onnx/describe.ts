import { MlInputError } from '../errors';
import { describeInputs, metadataFeatureNames, parseFeatureNames } from './describe-inputs';
import { FEATURE_SCHEMA_METADATA_KEY, FeatureSchema } from './feature-schema';
import type onnxProto from 'onnx-proto';
import { ElemType, decodeModel } from './proto';
import { assertSelfContainedOnnx } from './safety';

type ValueInfo = onnxProto.onnx.IValueInfoProto;
type NodeProto = onnxProto.onnx.INodeProto;

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const utf8 = new TextDecoder();

/**
 * Reads what a model needs and returns from an ONNX file, so it can be served: our own files carry
 * their feature schema in metadata; a file made elsewhere (skl2onnx, onnxmltools, torch.onnx) is
 * read from its graph (a packed `[N, k]` input needs its feature names: `opts.features`, a comma
 * list or JSON array, or the file's `feature_names` metadata). Throws MlInputError, naming the
 * problem, for a file we cannot serve: a packed input without names, a ZipMap output, no binary classifier outputs, external data or custom
 * operators (safety.ts).
 */
export function describeOnnxModel(bytes: Uint8Array, opts: { positiveClass?: string; features?: string } = {}): FeatureSchema {
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new MlInputError(`not an ONNX model: ${(e as Error).message}`);
  }
  // Before onnxruntime ever sees the file: it must not open other files or load native code.
  assertSelfContainedOnnx(model);
  const graph = model.graph;
  if (!graph) throw new MlInputError('the ONNX model has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const graphInputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));

  const ours = model.metadataProps.find((p) => p.key === FEATURE_SCHEMA_METADATA_KEY);
  if (ours?.value) return checkedOwnSchema(ours.value, graphInputs, graph.output ?? []);

  const featureNames = opts.features !== undefined ? parseFeatureNames(opts.features, 'import') : metadataFeatureNames(model.metadataProps);
  const inputs = describeInputs(graphInputs, featureNames);
  if (inputs.length === 0) throw new MlInputError('the ONNX model has no inputs');

  const outputs = (graph.output ?? []).map((o) => {
    if (!o.type?.tensorType) {
      const hint = o.type?.sequenceType ? ' (a ZipMap output: export without it, e.g. skl2onnx options={"zipmap": False})' : '';
      throw new MlInputError(`output "${o.name}" is not a tensor${hint}`);
    }
    return { name: o.name ?? '', elem: o.type.tensorType.elemType ?? 0, rank: o.type.tensorType.shape?.dim?.length ?? 0 };
  });
  const probabilities = outputs.find((o) => o.elem === ElemType.FLOAT && o.rank === 2) ?? outputs.find((o) => o.elem === ElemType.DOUBLE && o.rank === 2);
  const label = outputs.find((o) => (o.elem === ElemType.INT64 || o.elem === ElemType.STRING) && o.rank <= 2);
  if (!probabilities || !label) throw new MlInputError('the model needs a label output (int64 or string) and a probabilities output ([N,2] float)');

  const classes = classLabels(graph.node ?? []) ?? initializerClassLabels(graph, label.name);
  if (!classes) throw new MlInputError('no classifier with class labels found in the graph');
  if (classes.names.length !== 2) throw new MlInputError(`the model has ${classes.names.length} classes; only binary classifiers can be served`);
  const names: [string, string] = [classes.names[0]!, classes.names[1]!];
  const positive = opts.positiveClass ?? names[1];
  const positiveIndex = names.indexOf(positive);
  if (positiveIndex < 0) throw new MlInputError(`the positive class "${positive}" is not one of the model's classes (${names.join(', ')})`, 'positiveClass');
  return FeatureSchema.parse({
    version: 1,
    inputs,
    outputs: { label: label.name, probabilities: probabilities.name },
    classes: names,
    labelValues: label.elem === ElemType.INT64 ? (classes.values ?? [0, 1]) : null,
    positiveIndex,
  });
}

/** A schema from the file's metadata, trusted only if it names exactly the graph's inputs and outputs. */
function checkedOwnSchema(json: string, inputs: ValueInfo[], outputs: ValueInfo[]): FeatureSchema {
  let schema: FeatureSchema;
  try {
    schema = FeatureSchema.parse(JSON.parse(json));
  } catch {
    throw new MlInputError(`the model's ${FEATURE_SCHEMA_METADATA_KEY} metadata is not a valid feature schema`);
  }
  const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');
  const outputNames = outputs.map((o) => o.name ?? '');
  if (
    !same(
      schema.inputs.map((i) => i.input),
      inputs.map((i) => i.name ?? ''),
    ) ||
    !outputNames.includes(schema.outputs.label) ||
    !outputNames.includes(schema.outputs.probabilities)
  ) {
    throw new MlInputError(`the model's ${FEATURE_SCHEMA_METADATA_KEY} metadata does not match its graph's inputs and outputs`);
  }
  return schema;
}

/** Class labels of the graph's classifier (LinearClassifier, TreeEnsembleClassifier, SVMClassifier, ...). */
function classLabels(nodes: NodeProto[]): { names: string[]; values?: [number, number] } | null {
  for (const n of nodes) {
    for (const a of n.attribute ?? []) {
      if (a.name === 'classlabels_strings' && a.strings?.length) return { names: a.strings.map((s: Uint8Array) => utf8.decode(s)) };
      if ((a.name === 'classlabels_ints' || a.name === 'classlabels_int64s') && a.ints?.length) {
        const values = a.ints.map(num);
        return { names: values.map(String), values: values.length === 2 ? [values[0]!, values[1]!] : undefined };
      }
    }
  }
  return null;
}

/** Ops a label passes through unchanged in content on its way to the output. */
const PASS_THROUGH = new Set(['Cast', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten']);

/**
 * Class labels held in an initializer: double-precision scikit-learn files (skl2onnx has no double
 * LinearClassifier) pick the label with ArgMax, then ArrayFeatureExtractor (or Gather) from a
 * constant tensor of the classes. Followed back from the label output through casts and reshapes.
 */
function initializerClassLabels(graph: onnxProto.onnx.IGraphProto, labelOutput: string): { names: string[]; values?: [number, number] } | null {
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  let name = labelOutput;
  for (let hops = 0; hops < 16; hops++) {
    const n = producer.get(name);
    if (!n) return null;
    if (PASS_THROUGH.has(n.opType ?? '')) {
      name = n.input?.[0] ?? '';
      continue;
    }
    if (n.opType !== 'ArrayFeatureExtractor' && n.opType !== 'Gather') return null;
    const t = initializers.get(n.input?.[0] ?? '');
    return t ? classesOfTensor(t) : null;
  }
  return null;
}

function classesOfTensor(t: onnxProto.onnx.ITensorProto): { names: string[]; values?: [number, number] } | null {
  if (t.dataType === ElemType.STRING) return t.stringData?.length ? { names: t.stringData.map((b) => utf8.decode(b)) } : null;
  if (t.dataType !== ElemType.INT64 && t.dataType !== ElemType.INT32) return null;
  let values: number[] = (t.dataType === ElemType.INT64 ? t.int64Data : t.int32Data)?.map(num) ?? [];
  const raw = t.rawData;
  if (values.length === 0 && raw?.length) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = t.dataType === ElemType.INT64 ? 8 : 4;
    values = Array.from({ length: raw.byteLength / size }, (_, i) => (size === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
  }
  if (values.length === 0) return null;
  return { names: values.map(String), values: values.length === 2 ? [values[0]!, values[1]!] : undefined };
}
