import type { z } from 'zod';
import { notebookVersions } from '@/db/schema';
import { notebookSnapshot } from '../../domain/notebook-doc';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { currentNotebookState, withDoc } from './live';
import { requireNotebook, teamOf } from './notebook-rows';
import type { SaveVersionInput } from './schemas';

/** Names the notebook as its users see it now (live edits included): full Yjs state plus cells as JSON. */
export async function saveVersion({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof SaveVersionInput> }) {
  const notebook = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  const state = await currentNotebookState(ctx.db, ctx.liveNotebooks, notebook.id);
  const cells = withDoc(state, notebookSnapshot);
  return ctx.db.transaction(async (tx) => {
    await requireNotebook(tx, input.projectId, input.notebookId);
    const createdBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    const [version] = await tx
      .insert(notebookVersions)
      .values({ notebookId: notebook.id, message: input.message, state, cellsJson: cells, createdBy })
      .returning({ id: notebookVersions.id, message: notebookVersions.message, createdAt: notebookVersions.createdAt });
    if (!version) throw new Error('version insert returned no row');
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'notebook.version_save',
      target: { type: 'notebook', id: notebook.id },
      projectId: notebook.projectId,
      teamId: await teamOf(tx, notebook.projectId),
      details: { versionId: version.id, message: version.message, cells: cells.cells.length },
    });
    return { ...version, cells: cells.cells.length };
  });
}
