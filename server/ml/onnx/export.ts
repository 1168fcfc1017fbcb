import { algorithmOf } from '../algorithms';
import { MODEL_METADATA_KEY, modelToJson } from '../explain/model-json';
import { oneHotWidth } from '../features';
import type { Model } from '../model';
import { FEATURE_SCHEMA_METADATA_KEY, type FeatureInput, type FeatureSchema } from './feature-schema';
import { ElemType, ML_DOMAIN, attr, encodeModel, int64Tensor, node, tensorValue } from './proto';

/**
 * IR 8 with opset 15 and ai.onnx.ml 3: the ONNX 1.11 level, which every maintained runtime reads
 * (LabelEncoder v2). Trees need ai.onnx.ml 5 for TreeEnsemble's category-set splits (onnxruntime
 * 1.18+); their other ai.onnx.ml operators read the same at 5.
 */
export const OPSETS = { onnx: 15, ml: 3 } as const;
export const IR_VERSION = 8;

const OUT_LABEL = 'label';
const OUT_PROBABILITIES = 'probabilities';
/** Prefix of every intermediate tensor name; no feature input may use it. */
const INTERNAL = 'sb.';

const headerOf = (f: { header?: string }) => (f.header === undefined ? {} : { header: f.header });

export type OnnxExport = { bytes: Uint8Array; schema: FeatureSchema };

/**
 * The whole model, preprocessing included, as one ONNX graph: a scoring client feeds raw features
 * (one input per feature: float [N,1] with NaN for missing numbers, string [N,1] with "" for a
 * missing category) and reads `label` (int64: 1 = positive class) and `probabilities` [N,2].
 *
 *   numeric inputs -> Concat -> (logistic regression: Imputer(median) -> Scaler)
 *   each categorical -> logistic regression: LabelEncoder(category -> column, unseen -> -1) -> OneHotEncoder -> Reshape [N,w]
 *                       trees: LabelEncoder(category -> code as a float, unseen -> NaN) [N,1], the codes
 *                       renumbered so that the trees' category splits are fast (category-order.ts)
 *   Concat(all) -> LinearClassifier (post_transform LOGISTIC) | TreeEnsemble (tree-ensemble.ts)
 *
 * Deterministic: the same model gives the same bytes (artifacts are stored by sha256).
 */
export function exportOnnx(model: Model, opts: { producerVersion?: string } = {}): OnnxExport {
  const { numeric, categorical } = model.features;
  const inputNames = assignInputNames([...numeric, ...categorical].map((f) => f.name));
  const inputs: FeatureInput[] = [
    ...numeric.map((f): FeatureInput => ({ name: f.name, ...headerOf(f), input: inputNames.get(f.name)!, type: f.type, tensor: 'float', rank: 2 })),
    ...categorical.map(
      (f): FeatureInput => ({
        name: f.name,
        ...headerOf(f),
        input: inputNames.get(f.name)!,
        type: f.type,
        tensor: 'string',
        rank: 2,
        categories: f.categories,
        infrequentCategories: f.infrequent,
      }),
    ),
  ];
  const schema: FeatureSchema = {
    version: 1,
    target: model.target.name,
    inputs,
    outputs: { label: OUT_LABEL, probabilities: OUT_PROBABILITIES },
    classes: [model.target.negativeClass, model.target.positiveClass],
    labelValues: [0, 1],
    positiveIndex: 1,
  };

  const nodes: ReturnType<typeof node>[] = [];
  const initializers: ReturnType<typeof int64Tensor>[] = [];
  const blocks: string[] = [];
  const classifier = algorithmOf(model.estimator.kind).onnx(model.estimator as never);
  const codes = classifier.categorical === 'code' ? classifier.categoryCodes?.(numeric.length, categorical.map(oneHotWidth)) : undefined;
  if (numeric.length) {
    nodes.push(node('Concat', numeric.map((f) => inputNames.get(f.name)!), [`${INTERNAL}numeric`], [attr.int('axis', 1)]));
    if (classifier.standardised) {
      nodes.push(
        node('Imputer', [`${INTERNAL}numeric`], [`${INTERNAL}imputed`], [attr.floats('imputed_value_floats', numeric.map((f) => f.median)), attr.float('replaced_value_float', NaN)], ML_DOMAIN),
        node(
          'Scaler',
          [`${INTERNAL}imputed`],
          [`${INTERNAL}standardised`],
          [attr.floats('offset', numeric.map((f) => f.mean)), attr.floats('scale', numeric.map((f) => f.scale))],
          ML_DOMAIN,
        ),
      );
      blocks.push(`${INTERNAL}standardised`);
    } else blocks.push(`${INTERNAL}numeric`);
  }
  categorical.forEach((f, j) => {
    const p = `${INTERNAL}cat${j}.`;
    const keys = [...f.categories, ...f.infrequent];
    const values = keys.map((_, i) => Math.min(i, f.categories.length));
    if (classifier.categorical === 'code') {
      // A category never seen in training becomes NaN: the trees route it as a missing value.
      const coded = codes ? values.map((v) => codes[j]![v]!) : values;
      nodes.push(
        node('LabelEncoder', [inputNames.get(f.name)!], [`${p}code`], [attr.strings('keys_strings', keys), attr.floats('values_floats', coded), attr.float('default_float', NaN)], ML_DOMAIN),
      );
      blocks.push(`${p}code`);
      return;
    }
    const width = oneHotWidth(f);
    initializers.push(int64Tensor(`${p}shape`, [-1, width]));
    nodes.push(
      node('LabelEncoder', [inputNames.get(f.name)!], [`${p}column`], [attr.strings('keys_strings', keys), attr.ints('values_int64s', values), attr.int('default_int64', -1)], ML_DOMAIN),
      // Unseen categories (-1) match no column: all zeros, as scikit-learn's handle_unknown='ignore'.
      node('OneHotEncoder', [`${p}column`], [`${p}onehot3d`], [attr.ints('cats_int64s', range(width)), attr.int('zeros', 1)], ML_DOMAIN),
      node('Reshape', [`${p}onehot3d`, `${p}shape`], [`${p}onehot`]),
    );
    blocks.push(`${p}onehot`);
  });
  nodes.push(node('Concat', blocks, [`${INTERNAL}features`], [attr.int('axis', 1)]));
  const categoryCodes = codes ? { categoryCodes: { first: numeric.length, code: codes } } : {};
  const built = classifier.build({ features: `${INTERNAL}features`, label: OUT_LABEL, probabilities: OUT_PROBABILITIES, prefix: `${INTERNAL}trees.`, ...categoryCodes });
  nodes.push(...built.nodes);
  initializers.push(...built.initializers);

  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsets: classifier.opsets,
    graphName: `${model.algorithm}:${model.target.name}`,
    nodes,
    inputs: inputs.map((i) => tensorValue(i.input, i.tensor === 'string' ? ElemType.STRING : ElemType.FLOAT, ['N', 1])),
    outputs: [tensorValue(OUT_LABEL, ElemType.INT64, ['N']), tensorValue(OUT_PROBABILITIES, ElemType.FLOAT, ['N', 2])],
    initializers,
    producerVersion: opts.producerVersion ?? '0',
    docString: `${model.algorithm} predicting ${model.target.name} = ${model.target.positiveClass}`,
    metadata: { [FEATURE_SCHEMA_METADATA_KEY]: JSON.stringify(schema), [MODEL_METADATA_KEY]: modelToJson(model) },
  });
  return { bytes, schema };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Feature names become input names unless they collide with an output or an internal name. */
function assignInputNames(features: string[]): Map<string, string> {
  const taken = new Set<string>([OUT_LABEL, OUT_PROBABILITIES]);
  const names = new Map<string, string>();
  for (const f of features) {
    let name = f;
    for (let k = 1; taken.has(name) || name.startsWith(INTERNAL); k++) name = `input${k}.${f}`;
    taken.add(name);
    names.set(f, name);
  }
  return names;
}
