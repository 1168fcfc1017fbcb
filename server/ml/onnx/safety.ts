import type onnxProto from 'onnx-proto';
import { MlInputError } from '../errors';
import { onnx } from './proto';

type Model = onnxProto.onnx.IModelProto;
type Graph = onnxProto.onnx.IGraphProto;
type Tensor = onnxProto.onnx.ITensorProto;
type Long = { toNumber(): number };

/** Operator domains onnxruntime implements itself; anything else needs a custom-op library (native code). */
export const STANDARD_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml']);
/** Largest tensor a served classifier plausibly declares (elements); a bigger one is an allocation bomb. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;
/** Largest single declared dimension of an input, output or intermediate value. */
export const MAX_DECLARED_DIM = 2 ** 31 - 1;

const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/**
 * Refuses an ONNX model that would make onnxruntime do more than compute on its own bytes:
 * tensors stored outside the file (`external_data`: onnxruntime 1.30 refuses absolute and `..`
 * paths but still opens any file under the server's working directory, e.g. `.stagebook/`),
 * operators from domains other than the standard ones (custom ops run native code, and a model
 * naming them is not something we can serve anyway), model-local functions (they can hide such
 * nodes), and tensors or values declared with absurd sizes. Every graph is walked, subgraphs of
 * If/Loop/Scan included. Throws MlInputError saying what was found; the caller turns it into a 400.
 */
export function assertSelfContainedOnnx(model: Model): void {
  for (const o of model.opsetImport ?? []) {
    if (!STANDARD_DOMAINS.has(o.domain ?? '')) throw new MlInputError(`the model imports operator set "${o.domain}": only the standard ONNX domains (ai.onnx, ai.onnx.ml) can be served, custom operators cannot`);
  }
  if ((model.functions ?? []).length > 0) throw new MlInputError('the model defines its own functions: only standard ONNX operators can be served');
  if ((model.trainingInfo ?? []).length > 0) throw new MlInputError('the model carries training information: export an inference-only model');
  if (!model.graph) return;
  checkGraph(model.graph, 'graph');
}

function checkGraph(g: Graph, where: string): void {
  for (const t of g.initializer ?? []) checkTensor(t, `${where} initializer "${t.name ?? ''}"`);
  for (const s of g.sparseInitializer ?? []) {
    if (s.values) checkTensor(s.values, `${where} sparse initializer "${s.values.name ?? ''}"`);
    if (s.indices) checkTensor(s.indices, `${where} sparse initializer indices`);
    checkDims((s.dims ?? []).map(num), `${where} sparse initializer`);
  }
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    const dims = v.type?.tensorType?.shape?.dim ?? [];
    for (const d of dims) {
      const n = num(d.dimValue);
      if (n < 0 || n > MAX_DECLARED_DIM) throw new MlInputError(`${where} value "${v.name ?? ''}" declares a dimension of ${n}`);
    }
  }
  for (const n of g.node ?? []) {
    const domain = n.domain ?? '';
    const label = `node "${n.name || n.opType || '?'}"`;
    if (!STANDARD_DOMAINS.has(domain)) throw new MlInputError(`${label} uses operator ${n.opType} from the custom domain "${domain}": only standard ONNX operators can be served`);
    for (const a of n.attribute ?? []) {
      if (a.t) checkTensor(a.t, `${label} attribute ${a.name}`);
      for (const t of a.tensors ?? []) checkTensor(t, `${label} attribute ${a.name}`);
      if (a.sparseTensor?.values) checkTensor(a.sparseTensor.values, `${label} attribute ${a.name}`);
      for (const s of a.sparseTensors ?? []) if (s.values) checkTensor(s.values, `${label} attribute ${a.name}`);
      if (a.g) checkGraph(a.g, `${label} subgraph ${a.name}`);
      for (const sub of a.graphs ?? []) checkGraph(sub, `${label} subgraph ${a.name}`);
    }
  }
}

function checkTensor(t: Tensor, where: string): void {
  const external = t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData ?? []).length > 0;
  if (external) {
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    throw new MlInputError(`${where} keeps its data in an external file${location ? ` ("${location}")` : ''}: upload a single self-contained .onnx file (onnx.save_model(..., save_as_external_data=False))`);
  }
  checkDims((t.dims ?? []).map(num), where);
}

function checkDims(dims: number[], where: string): void {
  let elements = 1;
  for (const d of dims) {
    if (d < 0 || d > MAX_DECLARED_DIM) throw new MlInputError(`${where} declares a dimension of ${d}`);
    elements *= d;
  }
  if (elements > MAX_TENSOR_ELEMENTS) throw new MlInputError(`${where} declares ${dims.join(' x ')} elements, more than ${MAX_TENSOR_ELEMENTS} allowed`);
}
