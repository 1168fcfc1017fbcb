import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { notebooks } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import { isNameTaken, isUniqueViolation, requireNotebook, teamOf } from './notebook-rows';
import type { RenameNotebookInput } from './schemas';

export async function renameNotebook({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof RenameNotebookInput> }) {
  const nameTaken = () => conflict(`this project already has a notebook named "${input.name}"`, 'name');
  return ctx.db
    .transaction(async (tx) => {
      const before = await requireNotebook(tx, input.projectId, input.notebookId, { lock: true });
      if (before.name === input.name) return before;
      if (await isNameTaken(tx, input.projectId, input.name)) throw nameTaken();
      const [after] = await tx.update(notebooks).set({ name: input.name, updatedAt: sql`now()` }).where(eq(notebooks.id, before.id)).returning();
      if (!after) throw new Error('notebook update returned no row');
      await emitAudit(tx, auditMetaOf(ctx), {
        action: 'notebook.rename',
        target: { type: 'notebook', id: after.id },
        projectId: after.projectId,
        teamId: await teamOf(tx, after.projectId),
        details: { before: { name: before.name }, after: { name: after.name } },
      });
      return after;
    })
    .catch((err: unknown) => {
      throw isUniqueViolation(err) ? nameTaken() : err;
    });
}
