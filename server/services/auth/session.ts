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

/** The signed-in user behind a session cookie, or null when the token is unknown or expired. */
export async function resolveSession(db: DbOrTx, token: string | undefined): Promise<Extract<Actor, { type: 'user' }> | null> {
  if (!token || token.length > 200) return null;
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, sha256Hex(token)), gt(sessions.expiresAt, new Date())));
  return row ? { type: 'user', userId: row.id as UserId, email: row.email, name: row.name } : null;
}
