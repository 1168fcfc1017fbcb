import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { users } from '@/db/schema';
import { loadEnv, type Env } from '@/server/env';

/**
 * Instance admins: the people who change settings of the whole instance (not a team's). The smallest
 * sound rule: the emails the operator names in STAGEBOOK_ADMIN_EMAILS, else the first admin's
 * (STAGEBOOK_ADMIN_EMAIL, created verified on an empty instance), and only once that email is
 * verified, so signing up with the address is not enough: its owner must prove they read the mailbox.
 */
export function instanceAdminEmails(env: Pick<Env, 'STAGEBOOK_ADMIN_EMAILS' | 'STAGEBOOK_ADMIN_EMAIL'> = loadEnv()): string[] {
  return env.STAGEBOOK_ADMIN_EMAILS ?? [env.STAGEBOOK_ADMIN_EMAIL.toLowerCase()];
}

export async function isInstanceAdmin(db: DbOrTx, userId: string, emails: string[] = instanceAdminEmails()): Promise<boolean> {
  const [u] = await db.select({ email: users.email, verifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.id, userId));
  return !!u && u.verifiedAt !== null && emails.includes(u.email.toLowerCase());
}
