import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { apiKeys, projects } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound } from '../errors';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { Uuid } from '../teams/schemas';

export const RevokeApiKeyInput = z.object({ projectId: Uuid('projectId'), keyId: Uuid('keyId') });

/** Revoked keys stop working at once: the scoring caches of every process forget them (see scoring/changes.ts). */
export async function revokeApiKey({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof RevokeApiKeyInput> }) {
  const revoked = await ctx.db.transaction(async (tx) => {
    const [key] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, input.keyId), eq(apiKeys.projectId, input.projectId), isNull(apiKeys.revokedAt)))
      .returning();
    if (!key) throw notFound('active API key');
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, input.projectId));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'apikey.revoke',
      target: { type: 'apiKey', id: key.id },
      teamId: project?.teamId ?? null,
      projectId: input.projectId,
      details: { name: key.name, prefix: key.prefix },
    });
    await notifyScoringChange(tx, { kind: 'apiKey', keyHash: key.keyHash });
    return { id: key.id, revokedAt: key.revokedAt, keyHash: key.keyHash };
  });
  publishScoringChange(ctx.db, { kind: 'apiKey', keyHash: revoked.keyHash });
  return { id: revoked.id, revokedAt: revoked.revokedAt };
}
