import * as Y from 'yjs';
import type { DbOrTx } from '@/db/client';
import { loadStoredUpdate } from './storage';

/**
 * What services need from the collaboration server (server/collab implements it): the documents it
 * holds in memory are ahead of storage by at most a flush, and users see those.
 */
export interface LiveNotebooks {
  /** The full state of a notebook loaded in this process, including edits not stored yet; null when not loaded. */
  currentState(notebookId: string): Uint8Array | null;
  /**
   * Hands an update that is already stored durably to the loaded document (if any; also to one that
   * is still loading), which applies it and broadcasts it to the connected clients.
   */
  applyStored(notebookId: string, update: Uint8Array): void;
  /** Disconnects every client of a notebook (it was deleted) with the given close code, and unloads it. */
  evict(notebookId: string, code: number, reason: string): void;
}

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
