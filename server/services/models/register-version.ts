import { and, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { models, modelVersions, projects, type ModelVersionSource, type TrainingDataRef } from '@/db/schema';
import type { DriftReference } from '@/server/ml/drift-reference';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { AuditAction } from '../../domain/audit-actions';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { actorLabel } from '../context';
import { notFound } from '../errors';
import { putArtifact } from './artifacts';
import { versionSummary, type ModelVersionSummary, type VersionMetrics } from './model-view';
import type { Leaderboard } from './train-leaderboard';

export type NewModelVersion = {
  projectId: string;
  modelName: string;
  source: ModelVersionSource;
  bytes: Uint8Array;
  algorithm: string;
  spec: Record<string, unknown>;
  featureSchema: FeatureSchema;
  metrics: VersionMetrics | null;
  trainingData: TrainingDataRef | null;
  /** The drift reference profile (trained versions); null for imports. */
  reference?: DriftReference | null;
  /** A leaderboard's runner-up: never becomes the champion (its winner is linked after registration). */
  candidate?: boolean;
};

export type RegisteredVersion = { modelId: string; modelName: string; version: ModelVersionSummary; becameChampion: boolean; leaderboard?: Leaderboard };

/**
 * Stores the artifact (once per sha256), creates the model on its first version, numbers the new
 * version (the model row is locked, so concurrent registrations get 1, 2, 3...) and audits it. The
 * first version of a model becomes its champion; later ones wait for `setChampion` (or a retrain
 * gate). Runs inside the caller's transaction.
 */
export async function registerModelVersion(
  tx: DbOrTx,
  meta: AuditMeta,
  v: NewModelVersion,
  audit: { action: Extract<AuditAction, 'model.train' | 'model.import'>; details: Record<string, unknown> },
): Promise<RegisteredVersion> {
  const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, v.projectId));
  if (!project) throw notFound('project');
  const createdBy = actorLabel(meta.actor).actorLabel;
  await tx.insert(models).values({ projectId: v.projectId, name: v.modelName, createdBy }).onConflictDoNothing({ target: [models.projectId, models.name] });
  const [model] = await tx
    .select()
    .from(models)
    .where(and(eq(models.projectId, v.projectId), eq(models.name, v.modelName)))
    .for('update');
  if (!model) throw new Error('model row vanished after upsert');
  const [last] = await tx.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.modelId, model.id)).orderBy(desc(modelVersions.version)).limit(1);
  const sha256 = await putArtifact(tx, v.bytes);
  const [row] = await tx
    .insert(modelVersions)
    .values({
      modelId: model.id,
      version: (last?.version ?? 0) + 1,
      source: v.source,
      artifactSha256: sha256,
      algorithm: v.algorithm,
      spec: v.spec,
      featureSchema: v.featureSchema,
      metrics: v.metrics as Record<string, unknown> | null,
      trainingData: v.trainingData,
      reference: (v.reference ?? null) as Record<string, unknown> | null,
      createdBy,
    })
    .returning();
  if (!row) throw new Error('model version insert returned no row');
  const becameChampion = model.championVersionId === null && !v.candidate;
  await tx
    .update(models)
    .set({ updatedAt: sql`now()`, ...(becameChampion ? { championVersionId: row.id } : {}) })
    .where(eq(models.id, model.id));
  await emitAudit(tx, meta, {
    action: audit.action,
    target: { type: 'modelVersion', id: row.id },
    teamId: project.teamId,
    projectId: v.projectId,
    details: { model: v.modelName, version: row.version, algorithm: v.algorithm, artifactSha256: sha256, becameChampion, ...audit.details },
  });
  return { modelId: model.id, modelName: model.name, version: versionSummary(row, becameChampion ? row.id : model.championVersionId), becameChampion };
}
