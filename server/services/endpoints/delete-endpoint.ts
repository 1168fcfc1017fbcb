import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { endpoints } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { endpointViews, findEndpoint, refuseIfDeployed, teamOfProject } from './find-endpoint';
import type { EndpointRef } from './schemas';

/** Deletes an endpoint: its URL answers 404 from the next request on. Audited as `endpoint.delete`. */
export async function deleteEndpoint({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof EndpointRef> }): Promise<{ deleted: string }> {
  const meta = auditMetaOf(ctx);
  await ctx.db.transaction(async (tx) => {
    const current = await findEndpoint(tx, input, { forUpdate: true });
    refuseIfDeployed(current);
    const [before] = await endpointViews(tx, [current]);
    await tx.delete(endpoints).where(eq(endpoints.id, current.id));
    await emitAudit(tx, meta, {
      action: 'endpoint.delete',
      target: { type: 'endpoint', id: current.id },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: { name: current.name, model: before!.model, pinnedVersion: before!.pinnedVersion },
    });
    await notifyScoringChange(tx, { kind: 'endpoint', name: current.name });
  });
  publishScoringChange(ctx.db, { kind: 'endpoint', name: input.name });
  return { deleted: input.name };
}
