import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

/**
 * What the scoring caches must forget when it changes. Every service that changes an API key, an
 * endpoint or a model's champion sends one inside its transaction (`notifyScoringChange`: Postgres
 * delivers NOTIFY to every listening process on commit, and never if the transaction rolls back) and
 * applies it to this process's caches after commit (`publishScoringChange`), so the next request
 * here sees the change without waiting for the notification's round trip.
 */
export type ScoringChange =
  | { kind: 'apiKey'; keyHash: string }
  | { kind: 'endpoint'; name: string }
  | { kind: 'model'; modelId: string }
  /** A signed-out session (the sha256 of its token): request contexts cache sessions briefly. */
  | { kind: 'session'; tokenHash: string }
  /** A member's role changed or they were removed: live collab connections re-check their access. */
  | { kind: 'membership'; teamId: string; userId: string };

export const SCORING_CHANNEL = 'stagebook_scoring';

export async function notifyScoringChange(tx: DbOrTx, change: ScoringChange): Promise<void> {
  await tx.execute(sql`select pg_notify(${SCORING_CHANNEL}, ${JSON.stringify(change)})`);
}

type ScoringChangeListener = (change: ScoringChange) => void;
const listeners = new WeakMap<object, Set<ScoringChangeListener>>();

/**
 * The in-process change bus: caches (the scoring runtime, request contexts) subscribe per database
 * handle, and the services that change keys, endpoints, champions, sessions or memberships publish here
 * without importing the caches. Returns the unsubscribe function.
 */
export function onScoringChange(db: object, listener: ScoringChangeListener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

/** Applies a committed change to this process's caches (call after commit; NOTIFY tells other processes). */
export function publishScoringChange(db: object, change: ScoringChange): void {
  for (const listener of listeners.get(db) ?? []) listener(change);
}

/** A notification's payload, or null when it is not one of ours (a newer or older server wrote it). */
export function parseScoringChange(payload: string | undefined): ScoringChange | null {
  if (!payload) return null;
  try {
    const v = JSON.parse(payload) as Partial<Record<string, unknown>>;
    if (v.kind === 'apiKey' && typeof v.keyHash === 'string') return { kind: 'apiKey', keyHash: v.keyHash };
    if (v.kind === 'endpoint' && typeof v.name === 'string') return { kind: 'endpoint', name: v.name };
    if (v.kind === 'model' && typeof v.modelId === 'string') return { kind: 'model', modelId: v.modelId };
    if (v.kind === 'session' && typeof v.tokenHash === 'string') return { kind: 'session', tokenHash: v.tokenHash };
    if (v.kind === 'membership' && typeof v.teamId === 'string' && typeof v.userId === 'string') return { kind: 'membership', teamId: v.teamId, userId: v.userId };
  } catch {
    // Not JSON: ignored, like any payload we do not understand.
  }
  return null;
}
