import { evaluateProbabilities } from '@/server/ml/evaluate';
import { MlInputError } from '@/server/ml/errors';
import { describeOnnxModel } from '@/server/ml/onnx/describe';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { auditMetaOf, type ServiceCtx } from '../context';
import { invalid } from '../errors';
import { assertServes, MAX_MODEL_BYTES } from './import-onnx-model';
import { registerModelVersion, type RegisteredVersion } from './register-version';
import type { PythonModelEntry } from '../cells/python-model-manifest';

export { MAX_HOLDOUT_ROWS, MAX_PYTHON_MODELS, PYTHON_CHECK_TOLERANCE, PythonModelEntry, PythonModelManifest } from '../cells/python-model-manifest';

/**
 * Registers a model a Python cell trained (`stagebook.register_model`) as a new version, audited
 * `model.train`, exactly like a version trained by a train cell from there on. The sandbox converted
 * it with skl2onnx and checked onnxruntime against predict_proba; here the file goes through the
 * checks of an imported ONNX file (self-contained, a binary classifier, onnxruntime loads it and
 * scores a probe record), and the holdout labels and probabilities the cell computed (a copy of the
 * pipeline fitted on the training part) are evaluated by the same code as a trained version's:
 * AUC with its interval, log loss, ROC, calibration.
 */
export async function registerPythonModel({
  ctx,
  input,
}: {
  ctx: ServiceCtx;
  input: { projectId: string; cellId: string; entry: PythonModelEntry; bytes: Uint8Array };
}): Promise<RegisteredVersion> {
  const meta = auditMetaOf(ctx);
  const { entry, bytes } = input;
  const what = `model "${entry.name}"`;
  const { y, p } = entry.holdout;
  const schema = await servableSchema(ctx, what, entry, bytes);
  const evaluation = evaluateProbabilities(y, p, 0.5);
  const warnings = entry.fittedOn === 'given' ? ['the cell passed a fitted pipeline: it is served as fitted; the holdout estimate is of a copy refitted on the training part'] : [];
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
  return ctx.db.transaction((tx) =>
    registerModelVersion(
      tx,
      meta,
      {
        projectId: input.projectId,
        modelName: entry.name,
        source: 'trained',
        bytes,
        algorithm: 'sklearn',
        spec: {
          language: 'python',
          cell: input.cellId,
          target: entry.target,
          positiveClass: entry.positiveClass,
          features: entry.features,
          pipeline: entry.pipeline,
          holdout: { fraction: entry.holdout.fraction, seed: entry.holdout.seed },
          inputTensor: entry.inputTensor,
          fittedOn: entry.fittedOn,
          check: entry.check,
        },
        featureSchema: {
          ...schema,
          target: entry.target,
          inputs: schema.inputs.map((i) => (entry.booleans.includes(i.name) && i.tensor !== 'string' ? { ...i, type: 'boolean' as const } : i)),
        },
        metrics: { evaluation, training },
        trainingData: null,
      },
      {
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
    ),
  );
}

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
