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
