import { z } from 'zod';
import { MODEL_NAME } from '@/server/pipeline/model-cells';

/** The largest model file a cell may leave (the ONNX import's limit, server/services/models/import-onnx-model.ts). */
export const MAX_PYTHON_MODEL_BYTES = 64 * 1024 * 1024;
const ModelName = z.string().regex(MODEL_NAME, { error: 'model name must be a lowercase name (a-z, 0-9, _ and -; starting with a letter)' });

/** The most models one Python cell may register in one run. */
export const MAX_PYTHON_MODELS = 10;
/** Holdout rows the server accepts from a cell (more is a bigger holdout than any metric needs). */
export const MAX_HOLDOUT_ROWS = 2_000_000;
/** Labelled rows a registered model's frame may hold. */
export const MAX_FRAME_ROWS = 10_000_000;
/** What the sandbox promised: onnxruntime's probabilities within this of predict_proba. */
export const PYTHON_CHECK_TOLERANCE = 1e-5;

const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative().finite();

/**
 * One `stagebook.register_model` call as the sandbox (server/python/stagebook.py) reports it in
 * models.json. Everything in it comes from the cell's process, so it is checked like user input.
 */
export const PythonModelEntry = z.object({
  name: ModelName,
  target: z.string().min(1).max(200),
  positiveClass: z.string().max(200),
  features: z.array(z.string().max(200)).min(1).max(10_000),
  /** Features that were boolean columns: the endpoint takes true/false (and numbers) for them. */
  booleans: z.array(z.string().max(200)).max(10_000),
  pipeline: z.string().max(4000),
  inputTensor: z.enum(['float', 'double']),
  fittedOn: z.enum(['given', 'all']),
  rows: count,
  rowsWithoutTarget: count,
  trainingRows: count,
  holdout: z.object({
    fraction: z.number().gt(0).lt(1),
    seed: z.number().int(),
    y: z.array(z.union([z.literal(0), z.literal(1)])).max(MAX_HOLDOUT_ROWS),
    p: z.array(z.number().min(0).max(1)).max(MAX_HOLDOUT_ROWS),
  }),
  check: z.object({ rows: count, maxAbsDiff: z.number().min(0).max(PYTHON_CHECK_TOLERANCE) }),
  /** convertAndCheck includes `imports`, the time importing skl2onnx and onnxruntime took. */
  seconds: z.object({ fit: seconds, convertAndCheck: seconds, imports: seconds.optional() }),
  iterations: count,
  file: z.string().regex(/^model_[0-9]{1,3}\.onnx$/),
  /** The copy fitted on the training part, as ONNX (the server scores the holdout with it). */
  estimate: z.object({
    file: z.string().regex(/^model_[0-9]{1,3}_estimate\.onnx$/),
    check: z.object({ rows: count, maxAbsDiff: z.number().min(0).max(PYTHON_CHECK_TOLERANCE) }),
  }),
  /** The labelled rows as the model saw them, one file a column (server/services/cells/python-model-frame.ts). */
  frame: z.object({
    rows: z.number().int().positive().max(MAX_FRAME_ROWS),
    columns: z
      .array(
        z.object({
          name: z.string().max(200),
          kind: z.enum(['number', 'text']),
          file: z.string().regex(/^frame_[0-9]{1,3}_[0-9]{1,5}\.(f64|json)$/),
        }),
      )
      .min(1)
      .max(10_000),
    y: z.string().regex(/^frame_[0-9]{1,3}_y\.u8$/),
    holdout: z.string().regex(/^frame_[0-9]{1,3}_holdout\.u8$/),
  }),
});
export type PythonModelEntry = z.infer<typeof PythonModelEntry>;
export const PythonModelManifest = z.object({ models: z.array(PythonModelEntry).max(MAX_PYTHON_MODELS) });
export type PythonModelManifest = z.infer<typeof PythonModelManifest>;
