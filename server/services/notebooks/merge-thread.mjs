// Entry of the notebook merge thread (see merge-off-thread.ts). Plain JavaScript: a worker thread
// starts without the parent's TypeScript loader, and this needs nothing but yjs. Each request folds
// updates through a fresh document (as storage.ts's mergeToState does) and answers with the state.
import { parentPort } from 'node:worker_threads';
import * as Y from 'yjs';

parentPort.on('message', ({ id, updates }) => {
  const doc = new Y.Doc();
  try {
    Y.transact(doc, () => {
      for (const u of updates) Y.applyUpdate(doc, u);
    });
    const state = Y.encodeStateAsUpdate(doc);
    parentPort.postMessage({ id, state }, [state.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  } finally {
    doc.destroy();
  }
});
