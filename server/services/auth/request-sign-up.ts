import { eq } from 'drizzle-orm';
import { users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx, UserId } from '../context';
import { accountMailEnabled, sendAccountMail, type AccountMail } from './account-mail';
import { issueAccountToken } from './account-tokens';
import { hashPassword } from './passwords';
import type { SignUpInput } from './sign-up';

/**
 * What the public sign-up answers, whether the email was new or taken: the same fields with the
 * same values, so the answer tells nobody who has an account. `checkEmail` depends only on whether
 * SMTP is set up.
 */
export type SignUpAnswer = { email: string; checkEmail: boolean };

/**
 * The public sign-up (the form and `auth.signUp`). A new email gets an account (unverified: a link
 * is emailed when SMTP is set up); a taken email changes nothing and its owner is told by email
 * instead. Both paths hash the password, write one row-level change and one audit event in one
 * transaction, and send their email after it commits without waiting for it, so status, body and
 * work done are the same. Neither signs in: a session here would tell the two apart. The caller
 * signs in with the password it just chose (the form does that at once); what remains is that a
 * sign-in with that password fails for a taken email, which any sign-in form tells and the
 * per-email sign-in limit bounds.
 */
export async function requestSignUp({ ctx, input }: { ctx: ServiceCtx; input: SignUpInput }): Promise<SignUpAnswer> {
  const passwordHash = await hashPassword(input.password);
  const mail = await ctx.db.transaction(async (tx): Promise<AccountMail | null> => {
    // ON CONFLICT: two sign-ups racing for one new email must not turn into a 500 (or a 409).
    const [created] = await tx.insert(users).values({ email: input.email, name: input.name, passwordHash }).onConflictDoNothing({ target: users.email }).returning();
    const base = { requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId };
    if (created) {
      const actor = { type: 'user', userId: created.id as UserId, email: created.email, name: created.name } as const;
      await emitAudit(tx, { actor, ...base }, { action: 'user.signup', target: { type: 'user', id: created.id }, details: { email: created.email } });
      // Invitations for this email wait until it is verified (verify-email.ts) or an admin approves.
      return accountMailEnabled() ? { kind: 'verify_email', token: await issueAccountToken(tx, created.id, 'verify_email') } : null;
    }
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, input.email));
    if (!existing) throw new Error('sign-up: the email conflicted but no account holds it');
    await emitAudit(tx, { actor: { type: 'system', name: 'auth' }, ...base }, { action: 'user.signup_existing', target: { type: 'user', id: existing.id }, details: { email: input.email } });
    return { kind: 'signup_existing' };
  });
  if (mail) void sendAccountMail(input.email, mail);
  return { email: input.email, checkEmail: accountMailEnabled() };
}
