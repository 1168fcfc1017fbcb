import * as Y from 'yjs';
import type { Db } from '@/db/client';
import { type CellId, type CellKind } from '../../domain/notebook-doc';
import { applyNotebookSnapshot } from '../../domain/notebook-snapshot';
import { appendUpdates, loadStoredUpdate } from './storage';

/**
 * Makes a stored notebook hold exactly `cells`, as one edit appended to its updates (what a
 * collaborating client would store). For notebooks nobody has open: the demo seed and tests.
 */
export async function storeNotebookCells(db: Db, notebookId: string, cells: readonly { id: string; kind: CellKind; source: string; title?: string }[]): Promise<void> {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, await loadStoredUpdate(db, notebookId));
    const before = Y.encodeStateVector(doc);
    applyNotebookSnapshot(doc, { cells: cells.map((c) => ({ id: c.id as CellId, kind: c.kind, source: c.source, collapsed: false, ...(c.title ? { title: c.title } : {}) })) });
    await appendUpdates(db, notebookId, [Y.encodeStateAsUpdate(doc, before)]);
  } finally {
    doc.destroy();
  }
}
