import { z } from 'zod';
import { MAX_PREDICT_RECORDS } from '../../services/endpoints/schemas';
import { importOnnxModel, MAX_MODEL_BYTES } from '../../services/models/import-onnx-model';
import { DatasetName } from '../../services/datasets/schemas';
import { evaluateModelVersion } from '../../services/models/evaluate-version';
import { EndpointName, ImportModelQuery, ModelName } from '../../services/models/schemas';
import { Uuid } from '../../services/teams/schemas';
import { defineRoute, type RestRoute } from './route';

const ModelVersion = z.object({
  id: z.string(),
  version: z.number(),
  source: z.enum(['trained', 'imported']),
  algorithm: z.string(),
  artifactSha256: z.string(),
  champion: z.boolean(),
  auc: z.object({ auc: z.number(), lower: z.number(), upper: z.number() }).nullable(),
  logLoss: z.number().nullable(),
  accuracy: z.number().nullable(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
});

export const PredictBody = z.object({
  records: z
    .array(z.record(z.string(), z.unknown()), { error: 'records must be a list of feature objects' })
    .min(1, 'records must hold at least one record')
    .max(MAX_PREDICT_RECORDS, `at most ${MAX_PREDICT_RECORDS} records per request (more is a 413)`),
  /** Each record's top feature contributions (trained versions only; an imported ONNX model answers 400). */
  explain: z.boolean().optional(),
});

export const PredictResponse = z.object({
  endpoint: z.string(),
  model: z.string(),
  modelVersion: z.number().int(),
  /** The hash of the deployed bundle a production endpoint serves; null for design endpoints. */
  bundle: z.string().nullable(),
  predictions: z.array(
    z.object({
      /** The predicted class: with an endpoint threshold, the positive class exactly when its probability is >= the threshold. */
      label: z.string(),
      /** The probability of each class, by class name (e.g. {"good": 0.8, "bad": 0.2}). */
      probabilities: z.record(z.string(), z.number()),
      modelVersion: z.number().int(),
      /**
       * With `"explain": true`: the log-odds margin of the positive class as baseline + the listed
       * contributions (largest |contribution| first, at most 10) + otherFeatures; probability = sigmoid(margin).
       * Logistic regression: coefficient x standardised value; trees: TreeSHAP.
       */
      explanation: z
        .object({
          baseline: z.number(),
          margin: z.number(),
          contributions: z.array(z.object({ feature: z.string(), contribution: z.number() })),
          otherFeatures: z.number(),
        })
        .optional(),
    }),
  ),
});

/** The same as a JSON schema: fastify compiles a serializer from it (the REST route's response, the tRPC fast path's data). */
export const PredictResponseJsonSchema = z.toJSONSchema(PredictResponse, { target: 'draft-7' });

export const PREDICT_PATH = '/api/v1/endpoints/{name}/predict';

const StoredEvaluation = z.object({
  id: z.string(),
  version: z.number().int(),
  dataset: z.string(),
  environment: z.enum(['design', 'production']),
  fingerprint: z.string(),
  rows: z.number().int(),
  /** rows, positives, auc {auc, lower, upper}, logLoss, atThreshold (confusion matrix at 0.5), roc, calibration. */
  metrics: z.record(z.string(), z.unknown()),
  createdBy: z.string(),
  createdAt: z.string(),
});

export const modelRoutes: RestRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/models/{name}/versions/{version}/evaluations',
    operationId: 'evaluateModelVersion',
    summary: "Evaluate a model version on a dataset of the project (its features and target): AUC with interval, log loss, ROC, calibration, confusion matrix; stored and listed on the model page. Editors; key scope: run.",
    tags: ['models'],
    policy: { kind: 'member', role: 'editor', scope: 'run' },
    params: z.object({ projectId: Uuid('projectId'), name: ModelName, version: z.coerce.number().int().min(1) }),
    body: z.object({ dataset: DatasetName, environment: z.enum(['design', 'production']).default('design') }),
    response: StoredEvaluation,
    successStatus: 201,
    handler: ({ ctx, params, body }) => evaluateModelVersion({ ctx, input: { ...params, ...body } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/models/{name}/versions',
    operationId: 'importModelVersion',
    summary: 'Import an ONNX model trained elsewhere as a new version of a model (created on first import)',
    tags: ['models'],
    policy: { kind: 'member', role: 'editor' },
    params: z.object({ projectId: Uuid('projectId'), name: ModelName }),
    query: ImportModelQuery,
    rawBody: {
      contentTypes: ['application/octet-stream'],
      description: `The .onnx file (at most ${MAX_MODEL_BYTES / 1024 / 1024} MiB): a binary classifier with one [N,1] (or [N]) input per feature and tensor outputs for the label and the [N,2] probabilities (skl2onnx: options={"zipmap": False}). A file that cannot be served is refused with a 400 saying why.`,
    },
    response: z.object({ modelId: z.string(), modelName: z.string(), version: ModelVersion, becameChampion: z.boolean() }),
    successStatus: 201,
    handler: ({ ctx, params, query, raw }) => importOnnxModel({ ctx, input: { ...params, ...query }, body: raw! }),
  }),
  defineRoute({
    method: 'POST',
    path: PREDICT_PATH,
    operationId: 'predict',
    summary: `Score records with an endpoint's model: per record the label, each class's probability and the model version. Key scope: score:<name>. At most ${MAX_PREDICT_RECORDS} records.`,
    tags: ['scoring'],
    policy: { kind: 'endpointScorer' },
    params: z.object({ name: EndpointName }),
    body: PredictBody,
    response: PredictResponse,
    custom: true,
    handler: () => Promise.reject(new Error('served by the scoring route (predict-route.ts)')),
  }),
];
