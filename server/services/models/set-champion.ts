import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { models, modelVersions, projects } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { findModel, findModelVersion, refuseCandidate } from './list-models';
import { versionSummary, type ModelVersionSummary } from './model-view';
import type { SetChampionInput } from './schemas';

/**
 * Makes a version its model's champion: every endpoint following the champion serves it from the
 * next request on, in this process and (through NOTIFY on commit) in every other. Audited as
 * `model.champion_change` with both versions and their AUCs. Setting the current champion again
 * changes nothing and writes no event.
 */
export async function setChampion({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof SetChampionInput> }): Promise<{ champion: ModelVersionSummary; changed: boolean }> {
  const meta = auditMetaOf(ctx);
  const result = await ctx.db.transaction(async (tx) => {
    const model = await findModel(tx, input, { forUpdate: true });
    const next = await findModelVersion(tx, model.id, model.name, input.version);
    await refuseCandidate(tx, next, model.name, 'made champion');
    if (model.championVersionId === next.id) return { modelId: model.id, champion: versionSummary(next, next.id), changed: false };
    const [previous] = model.championVersionId ? await tx.select().from(modelVersions).where(eq(modelVersions.id, model.championVersionId)) : [];
    await tx.update(models).set({ championVersionId: next.id, updatedAt: sql`now()` }).where(eq(models.id, model.id));
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, input.projectId));
    const aucOf = (v: typeof next | undefined) => (v?.metrics as { evaluation?: { auc?: { auc?: number } } } | null)?.evaluation?.auc?.auc ?? null;
    await emitAudit(tx, meta, {
      action: 'model.champion_change',
      target: { type: 'model', id: model.id },
      teamId: project?.teamId ?? null,
      projectId: input.projectId,
      details: {
        model: model.name,
        before: previous ? { version: previous.version, auc: aucOf(previous) } : null,
        after: { version: next.version, auc: aucOf(next) },
      },
    });
    await notifyScoringChange(tx, { kind: 'model', modelId: model.id });
    return { modelId: model.id, champion: versionSummary(next, next.id), changed: true };
  });
  if (result.changed) publishScoringChange(ctx.db, { kind: 'model', modelId: result.modelId });
  return { champion: result.champion, changed: result.changed };
}
