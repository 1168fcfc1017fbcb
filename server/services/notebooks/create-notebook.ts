import type { z } from 'zod';
import { notebooks } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import type { CreateNotebookInput } from './schemas';
import { isNameTaken, isUniqueViolation, teamOf } from './notebook-rows';

/** A new, empty notebook (no cells: the first edit through /collab adds them). */
export async function createNotebook({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof CreateNotebookInput> }) {
  const nameTaken = () => conflict(`this project already has a notebook named "${input.name}"`, 'name');
  return ctx.db.transaction(async (tx) => {
    if (await isNameTaken(tx, input.projectId, input.name)) throw nameTaken();
    const createdBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    const [notebook] = await tx.insert(notebooks).values({ projectId: input.projectId, name: input.name, createdBy }).returning();
    if (!notebook) throw new Error('notebook insert returned no row');
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'notebook.create',
      target: { type: 'notebook', id: notebook.id },
      projectId: notebook.projectId,
      teamId: await teamOf(tx, notebook.projectId),
      details: { name: notebook.name },
    });
    return notebook;
  }).catch((err: unknown) => {
    // Two creates racing past the check: the partial unique index decides.
    throw isUniqueViolation(err) ? nameTaken() : err;
  });
}
