import { z } from 'zod';
import { apiKeys, projects } from '@/db/schema';
import { eq } from 'drizzle-orm';
import { emitAudit } from '../audit/emit';
import { sha256Hex, newSecret } from '../auth/tokens';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound } from '../errors';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { Uuid } from '../teams/schemas';
import { ApiScope } from './scopes';

export const CreateApiKeyInput = z.object({
  projectId: Uuid('projectId'),
  name: z.string().trim().min(1, 'name is required').max(80),
  scopes: z.array(ApiScope).min(1, 'give the key at least one scope').max(50),
});

export const API_KEY_PREFIX = 'sbk_';

/** The secret is returned once here and never again; the database keeps only its sha256. */
export async function createApiKey({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof CreateApiKeyInput> }) {
  const secret = `${API_KEY_PREFIX}${newSecret(24)}`;
  const created = await ctx.db.transaction(async (tx) => {
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, input.projectId));
    if (!project) throw notFound('project');
    const createdBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    const scopes = [...new Set(input.scopes)].sort();
    const [key] = await tx
      .insert(apiKeys)
      .values({ projectId: input.projectId, name: input.name, prefix: secret.slice(0, 10), keyHash: sha256Hex(secret), scopes, createdBy })
      .returning();
    if (!key) throw new Error('api key insert returned no row');
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'apikey.create',
      target: { type: 'apiKey', id: key.id },
      teamId: project.teamId,
      projectId: input.projectId,
      details: { name: key.name, scopes, prefix: key.prefix },
    });
    // A scoring process may remember this hash as unknown (someone tried the key early): forget it.
    await notifyScoringChange(tx, { kind: 'apiKey', keyHash: key.keyHash });
    return { id: key.id, name: key.name, prefix: key.prefix, scopes, createdAt: key.createdAt, secret };
  });
  publishScoringChange(ctx.db, { kind: 'apiKey', keyHash: sha256Hex(secret) });
  return created;
}
