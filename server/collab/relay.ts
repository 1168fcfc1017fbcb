import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '@/db/client';
import { listenOnChannel } from '@/db/listen';
import { driverOf } from '../services/datasets/storage';

/**
 * Live edits between web processes through Postgres LISTEN/NOTIFY, beside the update log. A process
 * notifies in the statement that stores a batch, so a relayed edit is always a stored one (and a
 * rolled-back batch relays nothing). Small batches travel in the notification; a batch too large for
 * a NOTIFY payload (8000 bytes) says `reload`, and receivers merge the stored state (Yjs merges are
 * idempotent). A receiver that lost its connection reloads every notebook it holds on reconnect.
 */
export const COLLAB_CHANNEL = 'stagebook_collab';
const MAX_INLINE_BYTES = 5000;

export type RelayMessage = { notebookId: string; update: Uint8Array | null } | { notebookId: string; awareness: Uint8Array };

/** Who sends: one id per collaboration server, so a server skips only its own notifications. */
export const newRelayId = () => randomUUID();

export async function notifyStored(tx: DbOrTx, sender: string, notebookId: string, update: Uint8Array): Promise<void> {
  await tx.execute(notifyStoredQuery(sender, notebookId, update));
}

/** The select that notifies a stored update: run in the statement (or transaction) that stores it. */
export function notifyStoredQuery(sender: string, notebookId: string, update: Uint8Array): SQL {
  const inline = update.byteLength <= MAX_INLINE_BYTES ? Buffer.from(update).toString('base64') : null;
  const payload = JSON.stringify({ n: notebookId, p: sender, u: inline });
  return sql`select pg_notify(${COLLAB_CHANNEL}, ${payload})`;
}

/** Presence (cursors, who is here) is not stored: it is sent as it happens. */
export async function notifyAwareness(db: Db, sender: string, notebookId: string, update: Uint8Array): Promise<void> {
  if (update.byteLength > MAX_INLINE_BYTES) return;
  const payload = JSON.stringify({ n: notebookId, p: sender, a: Buffer.from(update).toString('base64') });
  await db.execute(sql`select pg_notify(${COLLAB_CHANNEL}, ${payload})`);
}

export type CollabRelay = { ready: Promise<void>; close: () => Promise<void> };

export function listenForCollabEdits(db: Db, self: string, handlers: { onEdit: (m: RelayMessage) => void; onReset: () => void; onError?: (err: Error) => void }): CollabRelay {
  return listenOnChannel(driverOf(db).pool, {
    channel: COLLAB_CHANNEL,
    applicationName: 'stagebook-collab-relay',
    onNotification: (payload) => {
      if (!payload) return;
      try {
        const m = JSON.parse(payload) as { n: string; p: string; u?: string | null; a?: string };
        if (m.p === self) return;
        if (typeof m.a === 'string') return handlers.onEdit({ notebookId: m.n, awareness: new Uint8Array(Buffer.from(m.a, 'base64')) });
        handlers.onEdit({ notebookId: m.n, update: typeof m.u === 'string' ? new Uint8Array(Buffer.from(m.u, 'base64')) : null });
      } catch {
        handlers.onReset();
      }
    },
    onReset: handlers.onReset,
    onError: handlers.onError,
  });
}
