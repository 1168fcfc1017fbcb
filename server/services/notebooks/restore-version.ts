import type { z } from 'zod';
import { applyNotebookSnapshot } from '../../domain/notebook-snapshot';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { editOf } from './doc-edit';
import { currentNotebookState } from './live';
import { requireNotebook, teamOf } from './notebook-rows';
import type { VersionRef } from './schemas';
import { appendUpdates } from './storage';
import { cellsOfVersion, requireVersion } from './versions';

/** The edit that turns `state` into `target`, as a Yjs update made by a fresh client. */
function restoreEdit(state: Uint8Array, target: Parameters<typeof applyNotebookSnapshot>[1]): Uint8Array | null {
  return editOf(state, (doc) => applyNotebookSnapshot(doc, target));
}

/**
 * Restores a version as a NEW edit, so nobody's concurrent work is lost: the edit is computed
 * against the notebook as it is now (the live document when loaded here), stored in the same
 * transaction as its audit event, then handed to the live document, where Yjs merges it with
 * whatever was typed meanwhile (cells that stay keep their identity; their text is rewritten by a
 * minimal diff).
 */
export async function restoreVersion({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof VersionRef> }) {
  const notebook = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  const version = await requireVersion(ctx.db, notebook.id, input.versionId);
  const target = cellsOfVersion(version);
  const edit = restoreEdit(await currentNotebookState(ctx.db, ctx.liveNotebooks, notebook.id), target);
  await ctx.db.transaction(async (tx) => {
    await requireNotebook(tx, input.projectId, input.notebookId);
    if (edit) await appendUpdates(tx, notebook.id, [edit]);
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'notebook.version_restore',
      target: { type: 'notebook', id: notebook.id },
      projectId: notebook.projectId,
      teamId: await teamOf(tx, notebook.projectId),
      details: { versionId: version.id, message: version.message, cells: target.cells.length, changed: edit !== null },
    });
  });
  if (edit) ctx.liveNotebooks?.applyStored(notebook.id, edit);
  return { versionId: version.id, changed: edit !== null, cells: target.cells.length };
}
