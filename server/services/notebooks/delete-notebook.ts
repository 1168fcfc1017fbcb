import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { notebooks } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { requireNotebook, teamOf } from './notebook-rows';
import type { NotebookRef } from './schemas';

/** The close code connected clients get when their notebook is deleted (the 4xxx range stops reconnects). */
export const NOTEBOOK_GONE_CLOSE_CODE = 4404;

/** Soft delete: the notebook disappears for users; its content, versions and audit trail stay. */
export async function deleteNotebook({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof NotebookRef> }) {
  const deleted = await ctx.db.transaction(async (tx) => {
    const nb = await requireNotebook(tx, input.projectId, input.notebookId, { lock: true });
    await tx.update(notebooks).set({ deletedAt: sql`now()` }).where(eq(notebooks.id, nb.id));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'notebook.delete',
      target: { type: 'notebook', id: nb.id },
      projectId: nb.projectId,
      teamId: await teamOf(tx, nb.projectId),
      details: { name: nb.name },
    });
    return nb;
  });
  ctx.liveNotebooks?.evict(deleted.id, NOTEBOOK_GONE_CLOSE_CODE, 'notebook deleted');
  return { id: deleted.id, deleted: true as const };
}
