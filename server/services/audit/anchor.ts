import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { desc } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { auditEvents } from '@/db/schema';

/**
 * The hash chain shows an event altered or removed in the middle, but not the newest events removed:
 * a shorter chain is still a valid chain. So the head (latest seq and hash) is written, every minute
 * and at shutdown, where the database user cannot rewrite it: an append-only file in
 * $STAGEBOOK_HOME (and a log line, for whoever ships logs elsewhere). `audit-verify` then checks that
 * the chain still holds the anchored event with the anchored hash.
 *
 * What this proves: no event anchored before was removed or changed (unless the file was also
 * changed). What it cannot: events written after the last anchor (up to a minute's worth) and then
 * removed are not seen; someone who can write the file as well as the database can rewrite both.
 * Shipping the log line to a separate log store narrows that.
 */
export type AuditAnchor = { at: string; seq: number; hash: string };

export const AUDIT_ANCHOR_FILE = 'audit-anchors.log';
export const AUDIT_ANCHOR_EVERY_MS = 60_000;

export async function readAuditHead(db: Db): Promise<{ seq: number; hash: string } | null> {
  const [row] = await db.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
  return row ? { seq: Number(row.seq), hash: row.hash } : null;
}

/** Appends the current head to `file`; returns it, or null when the chain is empty. */
export async function writeAuditAnchor(db: Db, file: string): Promise<AuditAnchor | null> {
  const head = await readAuditHead(db);
  if (!head) return null;
  const anchor: AuditAnchor = { at: new Date().toISOString(), ...head };
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(anchor)}\n`, { mode: 0o600 });
  return anchor;
}

/** The last anchor in `file`, or null when there is none (no file yet, or nothing anchored). */
export async function readLastAuditAnchor(file: string): Promise<AuditAnchor | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const lines = text.split('\n').filter((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    // A line cut short by a crash mid-append is skipped: the one before it still holds.
    try {
      const a = JSON.parse(lines[i]!) as Partial<AuditAnchor>;
      if (typeof a.seq === 'number' && typeof a.hash === 'string' && /^[0-9a-f]{64}$/.test(a.hash) && typeof a.at === 'string') return { at: a.at, seq: a.seq, hash: a.hash };
    } catch {
      continue;
    }
  }
  return null;
}

/**
 * Anchors at once, then every `everyMs` when the head moved, and once more on `stop()` (shutdown).
 * A failed write is logged and retried at the next tick: anchoring must never stop the server.
 */
export function startAuditAnchoring(opts: { db: Db; file: string; everyMs?: number; log: (line: string) => void }): { stop: () => Promise<void> } {
  let lastSeq: number | null = null;
  let writing: Promise<void> = Promise.resolve();
  const anchor = (force: boolean) => {
    writing = writing.then(async () => {
      try {
        const head = await readAuditHead(opts.db);
        if (!head || (!force && head.seq === lastSeq)) return;
        const a = await writeAuditAnchor(opts.db, opts.file);
        if (!a) return;
        lastSeq = a.seq;
        opts.log(`audit anchor: seq=${a.seq} hash=${a.hash}`);
      } catch (err) {
        opts.log(`audit anchor not written: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    return writing;
  };
  void anchor(true);
  const timer = setInterval(() => void anchor(false), opts.everyMs ?? AUDIT_ANCHOR_EVERY_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await anchor(false);
    },
  };
}
