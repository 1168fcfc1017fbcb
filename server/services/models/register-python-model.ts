import { evaluateProbabilities } from '@/server/ml/evaluate';
import { MlInputError } from '@/server/ml/errors';
import { describeOnnxModel } from '@/server/ml/onnx/describe';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { auditMetaOf, type ServiceCtx } from '../context';
import { invalid } from '../errors';
import { assertServes, MAX_MODEL_BYTES } from './import-onnx-model';
import type { DbOrTx } from '@/db/client';
import type { AuditMeta } from '../audit/emit';
import type { ModelFrame } from '../cells/python-model-frame';
import type { PythonModelEntry } from '../cells/python-model-manifest';
import { frameFacts, importanceShares, type FrameFacts } from './python-frame-scoring';
import { registerModelVersion, type NewModelVersion, type RegisteredVersion } from './register-version';
import { storeSeenRows } from './seen-rows-store';

export { MAX_HOLDOUT_ROWS, MAX_PYTHON_MODELS, PYTHON_CHECK_TOLERANCE, PythonModelEntry, PythonModelManifest } from '../cells/python-model-manifest';

/**
 * Registers a model a Python cell trained (`stagebook.register_model`) as a new version, audited
 * `model.train`, exactly like a version trained by a train cell from there on. The sandbox converted
 * it with skl2onnx and checked onnxruntime against predict_proba; here the file goes through the
 * checks of an imported ONNX file (self-contained, a binary classifier, onnxruntime loads it and
 * scores a probe record), and the holdout is scored here by onnxruntime with the estimate (the copy
 * of the pipeline fitted on the training part) and evaluated by the same code as a trained
 * version's: AUC with its interval, log loss, ROC, calibration; plus permutation importance, a
 * drift reference and the seen-rows digest (preparePythonVersion).
 */
export async function registerPythonModel({ ctx, input }: { ctx: ServiceCtx; input: PythonModelInput }): Promise<RegisteredVersion> {
  const prepared = await preparePythonVersion(ctx, input);
  return ctx.db.transaction((tx) => registerPreparedPythonVersion(tx, auditMetaOf(ctx), prepared));
}

export type PythonModelInput = {
  projectId: string;
  cellId: string;
  entry: PythonModelEntry;
  /** The served model's ONNX file and the estimate's (the copy fitted on the training part). */
  bytes: Uint8Array;
  estimate: Uint8Array;
  frame: ModelFrame;
  environment: 'design' | 'production';
  /** The datasets the cell read. */
  inputs: string[];
};

export type PreparedPythonVersion = {
  version: NewModelVersion;
  audit: { action: 'model.train'; details: Record<string, unknown> };
  /** The estimate's schema and what the server computed from the frame: the retrain gate scores the same rows with both models. */
  estimateSchema: FeatureSchema;
  facts: FrameFacts;
  frame: ModelFrame;
  /** Frame rows the served model was fitted on (every one), or null when the cell fitted it on rows it did not show. */
  fittedRows: Uint32Array | null;
};

/**
 * Registers a prepared Python version in the caller's transaction: the seen-rows digest of its
 * fitted rows (hashes of the model frame: `of: 'model-frame'`), then the version, audited
 * `model.train` with `details` added (a retrain's run id).
 */
export async function registerPreparedPythonVersion(tx: DbOrTx, meta: AuditMeta, prepared: PreparedPythonVersion, details: Record<string, unknown> = {}): Promise<RegisteredVersion> {
  const seenRows = prepared.fittedRows ? await storeSeenRows(tx, prepared.facts.hashes, prepared.fittedRows, 'model-frame') : null;
  const trainingData = prepared.version.trainingData && seenRows ? { ...prepared.version.trainingData, seenRows } : prepared.version.trainingData;
  return registerModelVersion(tx, meta, { ...prepared.version, trainingData }, { ...prepared.audit, details: { ...prepared.audit.details, ...details } });
}

/**
 * Checks a Python model and computes what its version stores, without registering it: both ONNX
 * files pass the import's checks; the estimate scores the holdout rows of the frame in onnxruntime
 * (which must agree with the predict_proba the cell reported, to 1e-4), and those scores are the
 * holdout evaluation; permutation importance on them; the drift reference and the seen-rows hashes
 * of the rows the served model was fitted on (every labelled row; unknown for a pipeline the cell
 * fitted itself).
 */
export async function preparePythonVersion(ctx: ServiceCtx, input: PythonModelInput): Promise<PreparedPythonVersion> {
  const { entry, bytes, frame } = input;
  const what = `model "${entry.name}"`;
  const schema = await servableSchema(ctx, what, entry, bytes);
  const estimateSchema = await servableSchema(ctx, `${what} (the copy fitted on the training part)`, entry, input.estimate);
  if (frame.rows !== entry.rows - entry.rowsWithoutTarget) throw invalid(`${what}: the frame has ${frame.rows} rows, the cell reported ${entry.rows - entry.rowsWithoutTarget} labelled rows`, 'model');
  const fittedAll = entry.fittedOn === 'all';
  const facts = await frameFacts(frame, input.estimate, estimateSchema, null);
  const { y, p } = entry.holdout;
  if (facts.y.length !== y.length || facts.y.some((v, i) => v !== y[i])) throw invalid(`${what}: the frame's holdout rows are not the holdout the cell reported`, 'model');
  const worst = facts.p.reduce((m, v, i) => Math.max(m, Math.abs(v - p[i]!)), 0);
  if (!(worst <= HOLDOUT_AGREEMENT)) throw invalid(`${what}: onnxruntime's scores of the holdout differ from the cell's predict_proba by ${worst.toExponential(2)} (more than ${HOLDOUT_AGREEMENT})`, 'model');
  const evaluation = {
    ...evaluateProbabilities(facts.y, facts.p, 0.5),
    featureImportance: importanceShares(facts.importance),
    permutationImportance: facts.importance,
  };
  const warnings = fittedAll ? [] : ['the cell passed a fitted pipeline: it is served as fitted; the holdout estimate is of a copy refitted on the training part, and the rows it was fitted on are not known'];
  const training = {
    rows: entry.rows,
    rowsWithoutTarget: entry.rowsWithoutTarget,
    fittedOn: 'all' as const,
    fittedRows: entry.rows - entry.rowsWithoutTarget,
    holdoutRows: y.length,
    iterations: entry.iterations,
    converged: true,
    earlyStopped: false,
    seconds: entry.seconds.fit,
    warnings,
  };
  const version: NewModelVersion = {
    projectId: input.projectId,
    modelName: entry.name,
    source: 'trained',
    bytes,
    algorithm: 'sklearn',
    spec: pythonSpec(input.cellId, entry),
    featureSchema: {
      ...schema,
      target: entry.target,
      inputs: schema.inputs.map((i) => (entry.booleans.includes(i.name) && i.tensor !== 'string' ? { ...i, type: 'boolean' as const } : i)),
    },
    metrics: { evaluation, training },
    trainingData: {
      dataset: input.inputs[0] ?? '',
      environment: input.environment,
      fingerprint: facts.fingerprint,
      rows: frame.rows,
      python: { cell: input.cellId, inputs: input.inputs },
    },
    reference: facts.reference,
  };
  return {
    version,
    estimateSchema,
    facts,
    frame,
    fittedRows: fittedAll ? Uint32Array.from({ length: frame.rows }, (_, i) => i) : null,
    audit: {
      action: 'model.train',
      details: {
        language: 'python',
        cell: input.cellId,
        auc: evaluation.auc.auc,
        logLoss: evaluation.logLoss,
        holdoutRows: y.length,
        checkMaxAbsDiff: entry.check.maxAbsDiff,
        convertAndCheckSeconds: Math.round(entry.seconds.convertAndCheck * 1000) / 1000,
      },
    },
  };
}

/** What a Python version's spec records: the cell, the model's target and features, the pipeline and how it was checked. */
const pythonSpec = (cell: string, entry: PythonModelEntry) => ({
  language: 'python',
  cell,
  target: entry.target,
  positiveClass: entry.positiveClass,
  features: entry.features,
  pipeline: entry.pipeline,
  holdout: { fraction: entry.holdout.fraction, seed: entry.holdout.seed },
  inputTensor: entry.inputTensor,
  fittedOn: entry.fittedOn,
  check: entry.check,
});

/** onnxruntime here against predict_proba there, on the estimate's holdout scores (float32 graphs included). */
const HOLDOUT_AGREEMENT = 1e-4;

/** The converted model's feature schema, once its file, its holdout and its inputs pass the import's checks. */
async function servableSchema(ctx: ServiceCtx, what: string, entry: PythonModelEntry, bytes: Uint8Array): Promise<FeatureSchema> {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_MODEL_BYTES) throw invalid(`${what}: the ONNX file is ${bytes.byteLength === 0 ? 'empty' : `larger than ${MAX_MODEL_BYTES / 1024 ** 2} MiB`}`, 'model');
  const { y, p } = entry.holdout;
  if (y.length !== p.length) throw invalid(`${what}: the holdout has ${y.length} labels but ${p.length} probabilities`, 'model');
  const positives = y.reduce<number>((a, b) => a + b, 0);
  if (positives === 0 || positives === y.length) throw invalid(`${what}: the holdout needs rows of both classes (it has ${y.length} rows, ${positives} positive)`, 'model');
  let schema: FeatureSchema;
  try {
    schema = describeOnnxModel(bytes, { positiveClass: entry.positiveClass });
  } catch (err) {
    if (err instanceof MlInputError) throw invalid(`${what}: the converted model cannot be served: ${err.message}`, 'model');
    throw err;
  }
  const extra = schema.inputs.map((i) => i.name).filter((n) => !entry.features.includes(n));
  if (extra.length) throw invalid(`${what}: the converted model takes inputs that are not its features: ${extra.join(', ')}`, 'model');
  await assertServes(ctx, bytes, schema);
  return schema;
}
