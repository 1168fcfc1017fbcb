import type onnxProto from 'onnx-proto';
import { attr, ElemType, ML_DOMAIN, node, onnx, tensorValue } from '@/server/ml/onnx/proto';

type Tensor = onnxProto.onnx.ITensorProto;
type Node = onnxProto.onnx.INodeProto;
type Graph = onnxProto.onnx.IGraphProto;

/**
 * Hand-built ONNX classifiers for the attacks on model import: one float feature `x` into an
 * ai.onnx.ml LinearClassifier with `classes` classes (softmax), plus whatever the attack adds.
 * Built here with onnx-proto rather than with the exporter under test, so a change there cannot
 * make these files harmless by accident.
 */
export function classifierOnnx(opts: {
  classes?: number;
  initializers?: Tensor[];
  extraNodes?: Node[];
  extraOpsets?: { domain: string; version: number }[];
  valueInfo?: onnxProto.onnx.IValueInfoProto[];
  docString?: string;
  graphPatch?: (g: Graph) => void;
} = {}): Uint8Array {
  const k = opts.classes ?? 2;
  const graph: Graph = {
    name: 'attack',
    node: [
      node(
        'LinearClassifier',
        ['x'],
        ['label', 'probabilities'],
        [
          attr.floats('coefficients', Array.from({ length: k }, (_, i) => i - (k - 1) / 2)),
          attr.floats('intercepts', Array.from({ length: k }, () => 0)),
          attr.ints('classlabels_ints', Array.from({ length: k }, (_, i) => i)),
          attr.string('post_transform', 'SOFTMAX'),
        ],
        ML_DOMAIN,
      ),
      ...(opts.extraNodes ?? []),
    ],
    input: [tensorValue('x', ElemType.FLOAT, ['N', 1])],
    output: [tensorValue('label', ElemType.INT64, ['N']), tensorValue('probabilities', ElemType.FLOAT, ['N', k])],
    initializer: opts.initializers ?? [],
    valueInfo: opts.valueInfo ?? [],
  };
  opts.graphPatch?.(graph);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: ML_DOMAIN, version: 3 }, ...(opts.extraOpsets ?? [])],
    producerName: 'attacker',
    docString: opts.docString ?? '',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A float initializer whose 4 bytes onnxruntime would read from `location` (a path) instead of the file. */
export function externalTensor(name: string, location: string): Tensor {
  return {
    name,
    dataType: ElemType.FLOAT,
    dims: [1],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '4' },
    ],
  };
}
