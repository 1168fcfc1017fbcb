import { and, eq, gt } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { sessions, users } from '@/db/schema';
import type { Actor, UserId } from '../context';
import { newSecret, SESSION_TTL_MS, sha256Hex } from './tokens';

export async function createSession(tx: DbOrTx, userId: string): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecret();
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await tx.insert(sessions).values({ tokenHash: sha256Hex(token), userId, expiresAt });
  return { token, expiresAt };
}

export type UserActor = Extract<Actor, { type: 'user' }>;

/** The sha256 a session token is stored under, or null for a string that cannot be one. */
export function sessionHashOf(token: string | undefined): string | null {
  return !token || token.length > 200 ? null : sha256Hex(token);
}

/** The live (unexpired) session with this hash: its user and when it expires. Reads only. */
export async function findSessionByHash(db: DbOrTx, hash: string): Promise<{ actor: UserActor; expiresAt: Date } | null> {
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name, expiresAt: sessions.expiresAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, hash), gt(sessions.expiresAt, new Date())));
  return row ? { actor: { type: 'user', userId: row.id as UserId, email: row.email, name: row.name }, expiresAt: row.expiresAt } : null;
}

/** The signed-in user behind a session cookie, or null when the token is unknown or expired. */
export async function resolveSession(db: DbOrTx, token: string | undefined): Promise<UserActor | null> {
  const hash = sessionHashOf(token);
  return hash ? ((await findSessionByHash(db, hash))?.actor ?? null) : null;
}
