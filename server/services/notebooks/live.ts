import * as Y from 'yjs';
import type { DbOrTx } from '@/db/client';
import type { LiveNotebooks } from '../live-notebooks';
import { loadStoredUpdate } from './storage';

export type { LiveNotebooks };

/** The notebook as its users see it: the live document when loaded here, else storage. */
export async function currentNotebookState(db: DbOrTx, live: LiveNotebooks | undefined, notebookId: string): Promise<Uint8Array> {
  return live?.currentState(notebookId) ?? (await loadStoredUpdate(db, notebookId));
}

/** Runs `fn` on a throwaway document built from `state`. */
export function withDoc<T>(state: Uint8Array, fn: (doc: Y.Doc) => T): T {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state);
    return fn(doc);
  } finally {
    doc.destroy();
  }
}
