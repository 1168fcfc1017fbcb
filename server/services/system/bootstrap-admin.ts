import { count, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { teamMembers, teams, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { hashPassword } from '../auth/passwords';
import { newSecret } from '../auth/tokens';

/**
 * On an empty instance, creates the first admin and a "Default" team they administer. Returns the
 * credentials once; on every later start it returns null.
 */
export async function bootstrapAdmin(db: Db, opts: { email: string; password?: string | undefined }) {
  const password = opts.password ?? newSecret(12);
  const passwordHash = await hashPassword(password);
  return db.transaction(async (tx) => {
    // Serialise concurrent first starts (several processes against one fresh database).
    await tx.execute(sql`select pg_advisory_xact_lock(5747)`);
    const [n] = await tx.select({ n: count() }).from(users);
    if ((n?.n ?? 0) > 0) return null;
    const [user] = await tx.insert(users).values({ email: opts.email.toLowerCase(), name: 'Admin', passwordHash, emailVerifiedAt: new Date() }).returning();
    if (!user) throw new Error('admin insert returned no row');
    const [team] = await tx.insert(teams).values({ name: 'Default', createdBy: user.id }).returning();
    if (!team) throw new Error('team insert returned no row');
    await tx.insert(teamMembers).values({ teamId: team.id, userId: user.id, role: 'admin' });
    const meta = { actor: { type: 'system', name: 'bootstrap' } as const };
    await emitAudit(tx, meta, { action: 'system.bootstrap', target: { type: 'user', id: user.id }, teamId: team.id, details: { email: user.email, team: team.name } });
    return { email: user.email, password };
  });
}
