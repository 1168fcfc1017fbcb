import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { endpoints, type models } from '@/db/schema';
import type { DbOrTx } from '@/db/client';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { invalid } from '../errors';
import { findModel, findModelVersion, refuseCandidate } from '../models/list-models';
import type { EndpointView } from '../models/model-view';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { endpointViews, findEndpoint, refuseIfDeployed, teamOfProject } from './find-endpoint';
import type { UpdateEndpointInput } from './schemas';

/** Changes what an endpoint serves (model, pinned version or champion), its shadow version, threshold or description. Atomic for live traffic. */
export async function updateEndpoint({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof UpdateEndpointInput> }): Promise<EndpointView> {
  const meta = auditMetaOf(ctx);
  const row = await ctx.db.transaction(async (tx) => {
    const current = await findEndpoint(tx, input, { forUpdate: true });
    // A deployed endpoint serves what its bundle says; its shadow version is an operator's
    // experiment on live traffic, not part of the release, so that alone may change here.
    const shadowOnly = input.model === undefined && input.version === undefined && input.description === undefined && input.threshold === undefined && input.shadowVersion !== undefined;
    if (!shadowOnly) refuseIfDeployed(current);
    const [before] = await endpointViews(tx, [current]);
    const model = input.model ? await findModel(tx, { projectId: input.projectId, name: input.model }) : null;
    const modelId = model?.id ?? current.modelId;
    let pinnedVersionId = current.pinnedVersionId;
    if (input.version === null) pinnedVersionId = null;
    else if (input.version !== undefined) {
      const m = model ?? (await findModel(tx, { projectId: input.projectId, name: before!.model }));
      const pinned = await findModelVersion(tx, m.id, m.name, input.version);
      await refuseCandidate(tx, pinned, m.name, 'pinned to an endpoint');
      pinnedVersionId = pinned.id;
    } else if (model && model.id !== current.modelId) pinnedVersionId = null;
    const shadowVersionId = await shadowVersionIdOf(tx, input, { current, modelId, model, modelName: before!.model, pinnedVersionId });
    const [updated] = await tx
      .update(endpoints)
      .set({ modelId, pinnedVersionId, shadowVersionId, description: input.description ?? current.description, threshold: input.threshold === undefined ? current.threshold : input.threshold, updatedAt: sql`now()` })
      .where(eq(endpoints.id, current.id))
      .returning();
    if (!updated) throw new Error('endpoint update returned no row');
    const [after] = await endpointViews(tx, [updated]);
    const brief = (v: EndpointView) => ({ model: v.model, pinnedVersion: v.pinnedVersion, servingVersion: v.servingVersion, shadowVersion: v.shadowVersion, description: v.description, threshold: v.threshold });
    await emitAudit(tx, meta, {
      action: 'endpoint.update',
      target: { type: 'endpoint', id: updated.id },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: { name: updated.name, before: brief(before!), after: brief(after!) },
    });
    await notifyScoringChange(tx, { kind: 'endpoint', name: updated.name });
    return updated;
  });
  publishScoringChange(ctx.db, { kind: 'endpoint', name: row.name });
  const [view] = await endpointViews(ctx.db, [row]);
  return view!;
}

/**
 * The shadow version after the update: a version of the endpoint's (new) model other than the one it
 * serves. A model change without a new shadow version clears it (it was the old model's), and so
 * does the swap: pinning the shadow version makes it the served one. Checked against the champion
 * of now: if the champion later becomes the shadow version, scoring skips the shadow (runtime.ts)
 * rather than scoring each record twice with one version.
 */
async function shadowVersionIdOf(
  tx: DbOrTx,
  input: z.output<typeof UpdateEndpointInput>,
  s: { current: typeof endpoints.$inferSelect; modelId: string; model: typeof models.$inferSelect | null; modelName: string; pinnedVersionId: string | null },
): Promise<string | null> {
  if (input.shadowVersion === null) return null;
  if (input.shadowVersion === undefined) {
    const kept = s.modelId === s.current.modelId ? s.current.shadowVersionId : null;
    return kept !== null && kept === s.pinnedVersionId ? null : kept;
  }
  const m = s.model ?? (await findModel(tx, { projectId: input.projectId, name: s.modelName }));
  const shadow = await findModelVersion(tx, m.id, m.name, input.shadowVersion);
  if (shadow.id === (s.pinnedVersionId ?? m.championVersionId)) throw invalid(`v${input.shadowVersion} is the version endpoint "${input.name}" serves: shadow-score another version of ${m.name}`, 'shadowVersion');
  return shadow.id;
}
