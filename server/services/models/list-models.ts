import { and, asc, count, desc, eq, inArray } from 'drizzle-orm';
import type { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { models, modelVersions } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { invalid, notFound } from '../errors';
import { modelSummary, versionDetail, versionSummary, type ModelSummary, type ModelVersionDetail, type ModelVersionSummary } from './model-view';
import type { ListModelsInput, ModelRef, ModelVersionRef } from './schemas';

export async function findModel(db: DbOrTx, ref: { projectId: string; name: string }, opts: { forUpdate?: boolean } = {}) {
  const q = db
    .select()
    .from(models)
    .where(and(eq(models.projectId, ref.projectId), eq(models.name, ref.name)));
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  if (!row) throw notFound(`model "${ref.name}"`);
  return row;
}

export async function findModelVersion(db: DbOrTx, modelId: string, modelName: string, version: number) {
  const [row] = await db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)));
  if (!row) throw notFound(`version ${version} of model "${modelName}"`);
  return row;
}

/**
 * A leaderboard's runner-up is stored and listed but never served as the model's answer: refused as
 * champion and as an endpoint's pinned version, naming the version that won.
 */
export async function refuseCandidate(db: DbOrTx, version: typeof modelVersions.$inferSelect, modelName: string, as: string): Promise<void> {
  if (!version.candidateOf) return;
  const winner = await findVersionById(db, version.candidateOf);
  throw invalid(
    `version ${version.version} of model "${modelName}" is a leaderboard candidate${winner ? ` (version ${winner.version} won that training)` : ''}: candidates cannot be ${as}; train its algorithm and params on their own to serve it`,
    'version',
  );
}

export async function findVersionById(db: DbOrTx, id: string) {
  const [row] = await db.select().from(modelVersions).where(eq(modelVersions.id, id));
  return row ?? null;
}

/** The project's models by name, each with its champion in brief. */
export async function listModels({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListModelsInput> }): Promise<ModelSummary[]> {
  const rows = await ctx.db.select().from(models).where(eq(models.projectId, input.projectId)).orderBy(asc(models.name));
  if (rows.length === 0) return [];
  const championIds = rows.map((m) => m.championVersionId).filter((id): id is string => id !== null);
  const champions = championIds.length ? await ctx.db.select().from(modelVersions).where(inArray(modelVersions.id, championIds)) : [];
  const counts = await ctx.db
    .select({ modelId: modelVersions.modelId, n: count() })
    .from(modelVersions)
    .where(inArray(
      modelVersions.modelId,
      rows.map((m) => m.id),
    ))
    .groupBy(modelVersions.modelId);
  const byId = new Map(champions.map((v) => [v.id, v]));
  const countOf = new Map(counts.map((c) => [c.modelId, Number(c.n)]));
  return rows.map((m) => modelSummary(m, m.championVersionId ? (byId.get(m.championVersionId) ?? null) : null, countOf.get(m.id) ?? 0));
}

export async function getModel({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ModelRef> }): Promise<ModelSummary> {
  const m = await findModel(ctx.db, input);
  const versions = await ctx.db.select().from(modelVersions).where(eq(modelVersions.modelId, m.id));
  return modelSummary(m, versions.find((v) => v.id === m.championVersionId) ?? null, versions.length);
}

/** Every version of a model, newest first, with its metrics in brief. */
export async function listModelVersions({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ModelRef> }): Promise<ModelVersionSummary[]> {
  const m = await findModel(ctx.db, input);
  const versions = await ctx.db.select().from(modelVersions).where(eq(modelVersions.modelId, m.id)).orderBy(desc(modelVersions.version));
  return versions.map((v) => versionSummary(v, m.championVersionId));
}

/** One version with its full evaluation (ROC, calibration, importance) and feature schema. */
export async function getModelVersion({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ModelVersionRef> }): Promise<ModelVersionDetail> {
  const m = await findModel(ctx.db, input);
  return versionDetail(await findModelVersion(ctx.db, m.id, m.name, input.version), m.championVersionId);
}
