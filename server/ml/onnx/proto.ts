import onnxProto from 'onnx-proto';

/**
 * Thin helpers over onnx-proto (protobufjs classes generated from onnx.proto, ONNX 1.10 / IR 8) to
 * build a ModelProto by hand.
 */
export const { onnx } = onnxProto;
type Attribute = onnxProto.onnx.IAttributeProto;
type Node = onnxProto.onnx.INodeProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;
type Tensor = onnxProto.onnx.ITensorProto;

export const ElemType = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;
const utf8 = (s: string) => new TextEncoder().encode(s);

export const attr = {
  int: (name: string, i: number): Attribute => ({ name, type: A.INT, i }),
  float: (name: string, f: number): Attribute => ({ name, type: A.FLOAT, f }),
  string: (name: string, s: string): Attribute => ({ name, type: A.STRING, s: utf8(s) }),
  ints: (name: string, ints: number[]): Attribute => ({ name, type: A.INTS, ints }),
  floats: (name: string, floats: number[]): Attribute => ({ name, type: A.FLOATS, floats }),
  strings: (name: string, strings: string[]): Attribute => ({ name, type: A.STRINGS, strings: strings.map(utf8) }),
  tensor: (name: string, t: Tensor): Attribute => ({ name, type: A.TENSOR, t }),
};

export const ML_DOMAIN = 'ai.onnx.ml';

export function node(opType: string, input: string[], output: string[], attribute: Attribute[] = [], domain = ''): Node {
  return { opType, input, output, attribute, domain, name: `${opType}:${output[0]}` };
}

/** A tensor input or output; string dims are symbolic ("N"). */
export function tensorValue(name: string, elemType: number, dims: (number | string)[]): ValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

export function int64Tensor(name: string, values: number[]): Tensor {
  return { name, dataType: ElemType.INT64, dims: [values.length], int64Data: values };
}

export function doubleTensor(name: string, values: number[], dims: number[] = [values.length]): Tensor {
  return { name, dataType: ElemType.DOUBLE, dims, doubleData: values };
}

/** uint8 values travel in int32_data (onnx.proto). */
export function uint8Tensor(name: string, values: number[]): Tensor {
  return { name, dataType: ElemType.UINT8, dims: [values.length], int32Data: values };
}

export type Opsets = { onnx: number; ml: number };

export function encodeModel(opts: {
  irVersion: number;
  opsets: Opsets;
  graphName: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Tensor[];
  producerVersion: string;
  docString: string;
  metadata: Record<string, string>;
}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: opts.irVersion,
    opsetImport: [
      { domain: '', version: opts.opsets.onnx },
      { domain: ML_DOMAIN, version: opts.opsets.ml },
    ],
    producerName: 'stagebook',
    producerVersion: opts.producerVersion,
    docString: opts.docString,
    metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: opts.graphName,
      node: opts.nodes,
      input: opts.inputs,
      output: opts.outputs,
      initializer: opts.initializers,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
