import * as Y from 'yjs';
import type { Db } from '@/db/client';
import { applyNotebookSnapshot, type CellId, type CellKind } from '@/server/collab/notebook-doc';
import { appendUpdates, loadStoredUpdate } from '@/server/services/notebooks/storage';

export type TestCell = { id: string; kind: CellKind; source: string };

/** Makes a stored notebook hold exactly `cells`, as one edit (what a collab client would store). */
export async function setNotebookCells(db: Db, notebookId: string, cells: TestCell[]): Promise<void> {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, await loadStoredUpdate(db, notebookId));
    const before = Y.encodeStateVector(doc);
    applyNotebookSnapshot(doc, { cells: cells.map((c) => ({ id: c.id as CellId, kind: c.kind, source: c.source, collapsed: false })) });
    await appendUpdates(db, notebookId, [Y.encodeStateAsUpdate(doc, before)]);
  } finally {
    doc.destroy();
  }
}

export const sql = (id: string, writes: string, body: string): TestCell => ({ id, kind: 'sql', source: `-- writes: ${writes}\n${body}` });
export const ts = (id: string, inputs: string[], output: string, body: string): TestCell => ({
  id,
  kind: 'ts',
  source: `// inputs: ${inputs.join(', ')}\n// output: ${output}\n${body}`,
});
export const check = (id: string, yaml: string): TestCell => ({ id, kind: 'check', source: yaml });
