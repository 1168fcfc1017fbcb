import { asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import * as Y from 'yjs';
import type { Db, DbOrTx } from '@/db/client';
import { notebooks, notebookSnapshots, notebookUpdates } from '@/db/schema';
import { mergeToStateOffThread } from './merge-off-thread';

/**
 * Where notebook content lives: `notebook_snapshots` (compacted) plus `notebook_updates` (appended
 * since). Every function here is safe with several processes writing one notebook at once.
 */

export type StoredState = { updates: Uint8Array[]; rows: number };

/**
 * The snapshot and every remaining update row. Rows are read regardless of `up_to_seq`: a row with a
 * lower seq can commit after a higher one, and compaction deletes exactly the rows it folded, so
 * whatever is still there has to be applied (applying an update twice is harmless in Yjs).
 *
 * Rows first, then the snapshot: a compaction committing in between folded those rows into the
 * snapshot we then read (snapshots only grow), whereas the other order could miss them entirely.
 */
export async function loadStoredState(db: DbOrTx, notebookId: string): Promise<StoredState> {
  const rows = await db.select({ update: notebookUpdates.update }).from(notebookUpdates).where(eq(notebookUpdates.notebookId, notebookId)).orderBy(asc(notebookUpdates.seq));
  const [snap] = await db.select({ state: notebookSnapshots.state }).from(notebookSnapshots).where(eq(notebookSnapshots.notebookId, notebookId));
  const updates = rows.map((r) => r.update);
  if (snap) updates.unshift(snap.state);
  return { updates, rows: rows.length };
}

/** The stored document as one Yjs update (the full state). */
export async function loadStoredUpdate(db: DbOrTx, notebookId: string): Promise<Uint8Array> {
  const { updates } = await loadStoredState(db, notebookId);
  return mergeToState(updates);
}

/** Folds updates through a document, so deleted content is garbage-collected (unlike Y.mergeUpdates). */
export function mergeToState(updates: Uint8Array[]): Uint8Array {
  const doc = new Y.Doc();
  try {
    Y.transact(doc, () => {
      for (const u of updates) Y.applyUpdate(doc, u);
    });
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}

/**
 * Appends one row (the merge of `updates`) and marks the notebook as edited, in one statement: this
 * runs after every batch of keystrokes, so one round trip instead of a transaction of four.
 * `andThen` (a select, e.g. a NOTIFY of the stored batch) runs in the same statement, so it happens
 * exactly when the row commits, still in one round trip.
 */
export async function appendUpdates(db: DbOrTx, notebookId: string, updates: Uint8Array[], andThen?: SQL): Promise<void> {
  if (updates.length === 0) return;
  const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
  const bytes = Buffer.from(update.buffer, update.byteOffset, update.byteLength);
  // "Last edited" is coarse on purpose: the notebook row is not rewritten per keystroke.
  const appended = sql`insert into ${notebookUpdates} ("notebook_id", "update") values (${notebookId}, ${bytes})`;
  const touch = sql`update ${notebooks} set updated_at = now() where id = ${notebookId} and updated_at < now() - interval '5 seconds'`;
  // Data-modifying CTEs run exactly once whether or not the main query reads them.
  await db.execute(andThen ? sql`with appended as (${appended}), touched as (${touch}) ${andThen}` : sql`with appended as (${appended}) ${touch}`);
}

/**
 * Folds the snapshot and the update rows into a new snapshot and deletes exactly the folded rows.
 * The notebook row lock (FOR NO KEY UPDATE: an append's foreign key check only takes KEY SHARE, so
 * appends go on; only the at most 5-secondly `updated_at` touch waits) serialises compactions, so
 * two processes never overwrite each other's snapshot with a smaller one.
 */
export async function compactNotebook(db: Db, notebookId: string): Promise<{ folded: number }> {
  return db.transaction(async (tx) => {
    const [nb] = await tx.select({ id: notebooks.id }).from(notebooks).where(eq(notebooks.id, notebookId)).for('no key update');
    if (!nb) return { folded: 0 };
    const [snap] = await tx.select({ state: notebookSnapshots.state }).from(notebookSnapshots).where(eq(notebookSnapshots.notebookId, notebookId));
    const rows = await tx
      .select({ seq: notebookUpdates.seq, update: notebookUpdates.update })
      .from(notebookUpdates)
      .where(eq(notebookUpdates.notebookId, notebookId))
      .orderBy(asc(notebookUpdates.seq));
    if (rows.length === 0) return { folded: 0 };
    // Off the main thread: the live notebooks of this process keep relaying edits meanwhile.
    const state = await mergeToStateOffThread([...(snap ? [snap.state] : []), ...rows.map((r) => r.update)]);
    const upToSeq = rows[rows.length - 1]!.seq;
    await tx
      .insert(notebookSnapshots)
      .values({ notebookId, state, upToSeq })
      .onConflictDoUpdate({ target: notebookSnapshots.notebookId, set: { state, upToSeq, updatedAt: sql`now()` } });
    const seqs = rows.map((r) => r.seq);
    for (let i = 0; i < seqs.length; i += 1000) {
      await tx.delete(notebookUpdates).where(inArray(notebookUpdates.seq, seqs.slice(i, i + 1000)));
    }
    return { folded: rows.length };
  });
}

/** Stores a whole state as the first snapshot of a new notebook (duplicate). */
export async function storeInitialState(tx: DbOrTx, notebookId: string, state: Uint8Array): Promise<void> {
  await tx.insert(notebookSnapshots).values({ notebookId, state, upToSeq: 0 });
}
