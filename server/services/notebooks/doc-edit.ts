import * as Y from 'yjs';

/**
 * The edit `change` makes to the notebook whose full state is `state`, as one Yjs update from a
 * fresh client (a few bytes of state vector each time): what the server stores and hands to the
 * live document when it edits a notebook itself (a cell's output reference, a restored version).
 * Null when `change` changes nothing.
 */
export function editOf(state: Uint8Array, change: (doc: Y.Doc) => void): Uint8Array | null {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state);
    let edit: Uint8Array | null = null;
    doc.on('update', (u: Uint8Array) => {
      edit = edit ? Y.mergeUpdates([edit, u]) : u;
    });
    change(doc);
    return edit;
  } finally {
    doc.destroy();
  }
}
