import type { z } from 'zod';
import { notebookSnapshot } from '../../domain/notebook-doc';
import type { ServiceCtx } from '../context';
import { currentNotebookState, withDoc } from './live';
import { requireNotebook } from './notebook-rows';
import type { NotebookRef } from './schemas';

/** The notebook and its cells as they are now (the page then goes live through /collab). */
export async function getNotebook({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof NotebookRef> }) {
  const notebook = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  const state = await currentNotebookState(ctx.db, ctx.liveNotebooks, notebook.id);
  return { ...notebook, snapshot: withDoc(state, notebookSnapshot) };
}
