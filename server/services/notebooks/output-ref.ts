import * as Y from 'yjs';
import { setCellOutputRef, type CellOutputRef } from '../../domain/notebook-doc';

/**
 * The edit that points a cell at its newest output (`output` of the cell map), made by the server
 * against the notebook as it is now: stored with the output and handed to the live document, it
 * reaches every collaborator in the moment the author's response leaves, instead of one round trip
 * later from the author's browser. Null when the cell is gone (deleted meanwhile) or already points
 * there. A fresh Yjs client makes it, like a restore: a few bytes of state vector per run.
 */
export function outputRefEdit(state: Uint8Array, cellId: string, ref: CellOutputRef): Uint8Array | null {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state);
    let edit: Uint8Array | null = null;
    doc.on('update', (u: Uint8Array) => {
      edit = edit ? Y.mergeUpdates([edit, u]) : u;
    });
    setCellOutputRef(doc, cellId, ref);
    return edit;
  } finally {
    doc.destroy();
  }
}
