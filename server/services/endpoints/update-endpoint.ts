import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { endpoints } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { findModel, findModelVersion } from '../models/list-models';
import type { EndpointView } from '../models/model-view';
import { notifyScoringChange } from '../scoring/changes';
import { publishScoringChange } from '../scoring/runtime';
import { endpointViews, findEndpoint, refuseIfDeployed, teamOfProject } from './find-endpoint';
import type { UpdateEndpointInput } from './schemas';

/** Changes what an endpoint serves (model, pinned version or champion) or its description. Atomic for live traffic. */
export async function updateEndpoint({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof UpdateEndpointInput> }): Promise<EndpointView> {
  const meta = auditMetaOf(ctx);
  const row = await ctx.db.transaction(async (tx) => {
    const current = await findEndpoint(tx, input, { forUpdate: true });
    refuseIfDeployed(current);
    const [before] = await endpointViews(tx, [current]);
    const model = input.model ? await findModel(tx, { projectId: input.projectId, name: input.model }) : null;
    const modelId = model?.id ?? current.modelId;
    let pinnedVersionId = current.pinnedVersionId;
    if (input.version === null) pinnedVersionId = null;
    else if (input.version !== undefined) {
      const m = model ?? (await findModel(tx, { projectId: input.projectId, name: before!.model }));
      pinnedVersionId = (await findModelVersion(tx, m.id, m.name, input.version)).id;
    } else if (model && model.id !== current.modelId) pinnedVersionId = null;
    const [updated] = await tx
      .update(endpoints)
      .set({ modelId, pinnedVersionId, description: input.description ?? current.description, updatedAt: sql`now()` })
      .where(eq(endpoints.id, current.id))
      .returning();
    if (!updated) throw new Error('endpoint update returned no row');
    const [after] = await endpointViews(tx, [updated]);
    const brief = (v: EndpointView) => ({ model: v.model, pinnedVersion: v.pinnedVersion, servingVersion: v.servingVersion, description: v.description });
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
