import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { desc, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { auditEvents } from '@/db/schema';
import { actorLabel, type Actor } from '../context';
import type { AuditAction } from '../../domain/audit-actions';

export type AuditEventInput = {
  action: AuditAction;
  target: { type: string; id: string };
  teamId?: string | null;
  projectId?: string | null;
  details?: Record<string, unknown>;
};

export type AuditMeta = { actor: Actor; requestId?: string | null; clientIp?: string | null; clientRequestId?: string | null | undefined };

export const GENESIS_HASH = '0'.repeat(64);

/** Serialises chain appends across every process sharing the database. */
const AUDIT_CHAIN_LOCK = 0x5747_4175; // "SGAu"

/** The fields a hash covers, in the shape verify recomputes from a stored row. */
export type HashedContent = {
  at: string;
  actorType: string;
  actorId: string;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string;
  teamId: string | null;
  projectId: string | null;
  details: Record<string, unknown>;
  requestId: string | null;
  clientIp: string | null;
};

export function hashEvent(prevHash: string, content: HashedContent): string {
  const canonical = canonicalize(content);
  if (canonical === undefined) throw new Error('audit content is not serialisable');
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

/**
 * Appends one event to the chain. Must be called inside the transaction that makes the change, so the
 * event exists if and only if the change does.
 */
export async function emitAudit(tx: DbOrTx, meta: AuditMeta, event: AuditEventInput): Promise<{ seq: number; hash: string }> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
  const [last] = await tx.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
  const prevHash = last?.hash ?? GENESIS_HASH;
  // JSON round trip: what jsonb gives back must be what was hashed (no undefined, no Dates).
  const details = JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>;
  // The server makes request ids; a client's own id is kept as a detail, clearly labelled as theirs.
  if (meta.clientRequestId) details.clientRequestId = meta.clientRequestId;
  const content: HashedContent = {
    at: new Date().toISOString(),
    ...actorLabel(meta.actor),
    action: event.action,
    targetType: event.target.type,
    targetId: event.target.id,
    teamId: event.teamId ?? null,
    projectId: event.projectId ?? null,
    details,
    requestId: meta.requestId ?? null,
    clientIp: meta.clientIp ?? null,
  };
  const hash = hashEvent(prevHash, content);
  const [row] = await tx
    .insert(auditEvents)
    .values({ ...content, prevHash, hash })
    .returning({ seq: auditEvents.seq });
  if (!row) throw new Error('audit insert returned no row');
  return { seq: row.seq, hash };
}
