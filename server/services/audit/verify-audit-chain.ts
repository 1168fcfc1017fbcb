import { asc, gt } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { auditEvents } from '@/db/schema';
import { GENESIS_HASH, hashEvent } from './emit';

export type AuditVerifyResult =
  | { ok: true; events: number; head: string }
  | { ok: false; events: number; brokenAt: { seq: number; reason: string } };

/** Walks the chain in order, recomputing every hash; names the first event that does not hold. */
export async function verifyAuditChain(db: Db, batchSize = 1000): Promise<AuditVerifyResult> {
  let prev = GENESIS_HASH;
  let lastSeq = 0;
  let count = 0;
  for (;;) {
    const rows = await db.select().from(auditEvents).where(gt(auditEvents.seq, lastSeq)).orderBy(asc(auditEvents.seq)).limit(batchSize);
    if (rows.length === 0) return { ok: true, events: count, head: prev };
    for (const r of rows) {
      count++;
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
