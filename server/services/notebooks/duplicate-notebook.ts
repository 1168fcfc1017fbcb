import type { z } from 'zod';
import * as Y from 'yjs';
import { notebooks } from '@/db/schema';
import { notebookSnapshot } from '../../domain/notebook-doc';
import { docFromSnapshot } from '../../domain/notebook-snapshot';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import { currentNotebookState, withDoc } from './live';
import { isNameTaken, isUniqueViolation, requireNotebook, teamOf } from './notebook-rows';
import type { DuplicateNotebookInput } from './schemas';
import { storeInitialState } from './storage';

/**
 * A new notebook with the current cells of another (as its users see them now). The copy starts a
 * fresh Yjs history: same cells and ids, none of the source's tombstones.
 */
export async function duplicateNotebook({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof DuplicateNotebookInput> }) {
  const source = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  const snapshot = withDoc(await currentNotebookState(ctx.db, ctx.liveNotebooks, source.id), notebookSnapshot);
  const copy = docFromSnapshot(snapshot);
  const state = Y.encodeStateAsUpdate(copy);
  copy.destroy();
  let name = input.name;
  const nameTaken = (n: string) => conflict(`this project already has a notebook named "${n}"`, 'name');
  return ctx.db
    .transaction(async (tx) => {
      name ??= await freeCopyName(tx, source.projectId, source.name);
      if (await isNameTaken(tx, source.projectId, name)) throw nameTaken(name);
      const createdBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
      const [notebook] = await tx.insert(notebooks).values({ projectId: source.projectId, name, createdBy }).returning();
      if (!notebook) throw new Error('notebook insert returned no row');
      await storeInitialState(tx, notebook.id, state);
      await emitAudit(tx, auditMetaOf(ctx), {
        action: 'notebook.duplicate',
        target: { type: 'notebook', id: notebook.id },
        projectId: notebook.projectId,
        teamId: await teamOf(tx, notebook.projectId),
        details: { name: notebook.name, sourceId: source.id, sourceName: source.name, cells: snapshot.cells.length },
      });
      return notebook;
    })
    .catch((err: unknown) => {
      throw isUniqueViolation(err) ? nameTaken(name ?? '') : err;
    });
}

async function freeCopyName(tx: Parameters<typeof isNameTaken>[0], projectId: string, base: string): Promise<string> {
  for (let i = 1; i < 1000; i++) {
    const candidate = `${base} (copy${i === 1 ? '' : ` ${i}`})`.slice(0, 120);
    if (!(await isNameTaken(tx, projectId, candidate))) return candidate;
  }
  throw conflict('too many copies of this notebook; give the copy a name', 'name');
}
