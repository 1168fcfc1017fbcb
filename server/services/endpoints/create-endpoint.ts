import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { endpoints } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import { findModel, findModelVersion, refuseCandidate } from '../models/list-models';
import type { EndpointView } from '../models/model-view';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { endpointViews, teamOfProject } from './find-endpoint';
import type { CreateEndpointInput } from './schemas';

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: unknown }).code === UNIQUE_VIOLATION) return true;
  return false;
}

const taken = (name: string) => conflict(`an endpoint named "${name}" already exists (endpoint names are unique across Stagebook: they are the URL)`, 'name');

/** Creates an endpoint serving a model's champion (or a pinned version). Audited as `endpoint.create`. */
export async function createEndpoint({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof CreateEndpointInput> }): Promise<EndpointView> {
  const meta = auditMetaOf(ctx);
  let row: typeof endpoints.$inferSelect;
  try {
    row = await ctx.db.transaction(async (tx) => {
      const model = await findModel(tx, { projectId: input.projectId, name: input.model });
      const pinned = input.version ? await findModelVersion(tx, model.id, model.name, input.version) : null;
      if (pinned) await refuseCandidate(tx, pinned, model.name, 'pinned to an endpoint');
      const [existing] = await tx.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.name, input.name));
      if (existing) throw taken(input.name);
      const [created] = await tx
        .insert(endpoints)
        .values({ projectId: input.projectId, name: input.name, modelId: model.id, pinnedVersionId: pinned?.id ?? null, description: input.description, threshold: input.threshold ?? null, createdBy: actorLabel(meta.actor).actorLabel })
        .returning();
      if (!created) throw new Error('endpoint insert returned no row');
      await emitAudit(tx, meta, {
        action: 'endpoint.create',
        target: { type: 'endpoint', id: created.id },
        teamId: await teamOfProject(tx, input.projectId),
        projectId: input.projectId,
        details: { name: created.name, model: model.name, pinnedVersion: pinned?.version ?? null, threshold: created.threshold },
      });
      await notifyScoringChange(tx, { kind: 'endpoint', name: created.name });
      return created;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw taken(input.name);
    throw err;
  }
  publishScoringChange(ctx.db, { kind: 'endpoint', name: row.name });
  const [view] = await endpointViews(ctx.db, [row]);
  return view!;
}
