import { asc, gt } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { auditEvents } from '@/db/schema';
import type { AuditAnchor } from './anchor';
import { GENESIS_HASH, hashEvent } from './emit';

export type AuditVerifyResult =
  | { ok: true; events: number; head: string }
  | { ok: false; events: number; brokenAt: { seq: number; reason: string } };

/**
 * Walks the chain in order, recomputing every hash; names the first event that does not hold. With
 * an `anchor` (the last head written outside the database, see anchor.ts), the chain must also still
 * hold the anchored event with the anchored hash: that catches the newest events removed.
 */
export async function verifyAuditChain(db: Db, opts: { batchSize?: number; anchor?: AuditAnchor | null } = {}): Promise<AuditVerifyResult> {
  const batchSize = opts.batchSize ?? 1000;
  const anchor = opts.anchor ?? null;
  let prev = GENESIS_HASH;
  let lastSeq = 0;
  let count = 0;
  let anchorSeen = false;
  for (;;) {
    const rows = await db.select().from(auditEvents).where(gt(auditEvents.seq, lastSeq)).orderBy(asc(auditEvents.seq)).limit(batchSize);
    if (rows.length === 0) {
      if (anchor && !anchorSeen) {
        const what =
          lastSeq < anchor.seq
            ? `the chain ends at seq=${lastSeq}, but the anchor written at ${anchor.at} recorded it up to seq=${anchor.seq}: the newest events, after seq=${lastSeq} up to seq=${anchor.seq}, were removed`
            : `event seq=${anchor.seq}, recorded by the anchor written at ${anchor.at}, is missing (removed)`;
        return { ok: false, events: count, brokenAt: { seq: anchor.seq, reason: what } };
      }
      return { ok: true, events: count, head: prev };
    }
    for (const r of rows) {
      count++;
      if (anchor && r.seq > anchor.seq && !anchorSeen) {
        return { ok: false, events: count, brokenAt: { seq: anchor.seq, reason: `event seq=${anchor.seq}, recorded by the anchor written at ${anchor.at}, is missing (removed)` } };
      }
      if (anchor && r.seq === anchor.seq) {
        anchorSeen = true;
        if (r.hash !== anchor.hash) {
          return { ok: false, events: count, brokenAt: { seq: r.seq, reason: `its hash differs from the one anchored at ${anchor.at} (the chain was rewritten up to it)` } };
        }
      }
      if (r.prevHash !== prev) {
        return { ok: false, events: count, brokenAt: { seq: r.seq, reason: 'prev_hash does not match the hash of the event before it (an event was removed, reordered or altered)' } };
      }
      const recomputed = hashEvent(prev, {
        at: new Date(r.at).toISOString(),
        actorType: r.actorType,
        actorId: r.actorId,
        actorLabel: r.actorLabel,
        action: r.action,
        targetType: r.targetType,
        targetId: r.targetId,
        teamId: r.teamId,
        projectId: r.projectId,
        details: r.details,
        requestId: r.requestId,
        clientIp: r.clientIp,
      });
      if (recomputed !== r.hash) {
        return { ok: false, events: count, brokenAt: { seq: r.seq, reason: 'content does not match its hash (the event was altered)' } };
      }
      prev = r.hash;
      lastSeq = r.seq;
    }
  }
}
