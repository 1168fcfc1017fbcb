import type { endpoints, models, modelVersions } from '@/db/schema';
import type { Evaluation } from '@/server/ml/evaluate';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { TrainResult } from '@/server/ml/train';
import type { Leaderboard } from './train-leaderboard';

/** What a trained version's `metrics` column holds (null for imported versions). */
export type VersionMetrics = { evaluation: Evaluation; training: TrainResult['training']; leaderboard?: Leaderboard };

export type ModelVersionSummary = {
  id: string;
  version: number;
  source: 'trained' | 'imported';
  algorithm: string;
  artifactSha256: string;
  champion: boolean;
  /** A leaderboard's runner-up: the id of the version that won it (never a champion); null otherwise. */
  candidateOf: string | null;
  /** Holdout metrics in brief (trained versions). */
  auc: { auc: number; lower: number; upper: number } | null;
  logLoss: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  trainingData: (typeof modelVersions.$inferSelect)['trainingData'];
  createdBy: string;
  createdAt: string;
};

export type ModelVersionDetail = ModelVersionSummary & {
  spec: Record<string, unknown>;
  featureSchema: FeatureSchema;
  metrics: VersionMetrics | null;
};

export type ModelSummary = {
  id: string;
  projectId: string;
  name: string;
  champion: ModelVersionSummary | null;
  versionCount: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
};

export function versionSummary(v: typeof modelVersions.$inferSelect, championVersionId: string | null): ModelVersionSummary {
  const metrics = v.metrics as VersionMetrics | null;
  const e = metrics?.evaluation;
  return {
    id: v.id,
    version: v.version,
    source: v.source,
    algorithm: v.algorithm,
    artifactSha256: v.artifactSha256,
    champion: v.id === championVersionId,
    candidateOf: v.candidateOf,
    auc: e ? { auc: e.auc.auc, lower: e.auc.lower, upper: e.auc.upper } : null,
    logLoss: e?.logLoss ?? null,
    accuracy: e?.atThreshold.accuracy ?? null,
    precision: e?.atThreshold.precision ?? null,
    recall: e?.atThreshold.recall ?? null,
    trainingData: v.trainingData,
    createdBy: v.createdBy,
    createdAt: new Date(v.createdAt).toISOString(),
  };
}

export function versionDetail(v: typeof modelVersions.$inferSelect, championVersionId: string | null): ModelVersionDetail {
  return {
    ...versionSummary(v, championVersionId),
    spec: v.spec,
    featureSchema: v.featureSchema as FeatureSchema,
    metrics: v.metrics as VersionMetrics | null,
  };
}

export function modelSummary(m: typeof models.$inferSelect, champion: typeof modelVersions.$inferSelect | null, versionCount: number): ModelSummary {
  return {
    id: m.id,
    projectId: m.projectId,
    name: m.name,
    champion: champion ? versionSummary(champion, m.championVersionId) : null,
    versionCount,
    createdBy: m.createdBy,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: new Date(m.updatedAt).toISOString(),
  };
}

export type EndpointView = {
  id: string;
  projectId: string;
  name: string;
  description: string;
  model: string;
  /** The version a request is scored with now. */
  servingVersion: number | null;
  /** null: the endpoint follows the model's champion. */
  pinnedVersion: number | null;
  /** The version scored in the shadow of each request (logged, not returned); null: none. */
  shadowVersion: number | null;
  /** The decision threshold on the positive-class probability; null: the model's own label. */
  threshold: number | null;
  /** The deployed bundle serving it (a production endpoint: only a deployment changes what it serves); null for a design endpoint. */
  bundleHash: string | null;
  path: string;
  scope: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
};

export function endpointView(e: typeof endpoints.$inferSelect, modelName: string, pinnedVersion: number | null, championVersion: number | null, shadowVersion: number | null): EndpointView {
  return {
    id: e.id,
    projectId: e.projectId,
    name: e.name,
    description: e.description,
    model: modelName,
    servingVersion: pinnedVersion ?? championVersion,
    pinnedVersion,
    shadowVersion,
    threshold: e.threshold,
    bundleHash: e.bundleHash,
    path: `/api/v1/endpoints/${e.name}/predict`,
    scope: `score:${e.name}`,
    createdBy: e.createdBy,
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
  };
}
