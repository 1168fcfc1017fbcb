import { desc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { apiKeys } from '@/db/schema';
import type { ServiceCtx } from '../context';
import type { ProjectRef } from '../projects/schemas';

export async function listApiKeys({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ProjectRef> }) {
  return ctx.db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      scopes: apiKeys.scopes,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
      lastUsedAt: apiKeys.lastUsedAt,
      lastUsedWhere: apiKeys.lastUsedWhere,
    })
    .from(apiKeys)
    .where(eq(apiKeys.projectId, input.projectId))
    .orderBy(desc(apiKeys.createdAt));
}
