import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { sessions, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx, UserId } from '../context';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { consumeAccountToken, issueAccountToken } from './account-tokens';
import { sendAccountMail } from './account-mail';
import { takeAttempt } from './attempt-limits';
import { hashPassword } from './passwords';
import { Email, Password } from './sign-up';
import { AccountToken } from './verify-email';

export const RequestPasswordResetInput = z.object({ email: Email });
export const ResetPasswordInput = z.object({ token: AccountToken, password: Password });

/** Reset emails per address and per client in the attempt window (each may send an email). */
export const RESET_LIMITS = { perEmail: 3, perClient: 20 };

/**
 * Emails a reset link when the account exists. The answer is the same either way (and comes after
 * the same work: the token is made before the user is looked up), so it does not tell who has an
 * account.
 */
export async function requestPasswordReset({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof RequestPasswordResetInput> }) {
  await takeAttempt(
    ctx.db,
    [
      { key: `reset:email:${input.email}`, max: RESET_LIMITS.perEmail },
      { key: `reset:client:${ctx.clientIp ?? 'unknown'}`, max: RESET_LIMITS.perClient },
    ],
    'too many password reset requests; try again in 15 minutes',
  );
  const [user] = await ctx.db.select({ id: users.id, email: users.email }).from(users).where(eq(users.email, input.email));
  if (user) {
    const token = await ctx.db.transaction(async (tx) => {
      await emitAudit(
        tx,
        { actor: { type: 'system', name: 'auth' }, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId },
        { action: 'user.password_reset_request', target: { type: 'user', id: user.id }, details: { email: user.email } },
      );
      return issueAccountToken(tx, user.id, 'reset_password');
    });
    // Not awaited: an SMTP round trip would make known emails answer slower than unknown ones.
    void sendAccountMail(user.email, { kind: 'reset_password', token });
  }
  return { message: 'If an account uses this email, a link to reset its password is on its way.' };
}

/**
 * A new password from an emailed token: single use, and every session of the user ends (a reset
 * is what someone does when they fear another person has their password).
 */
export async function resetPassword({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ResetPasswordInput> }) {
  const passwordHash = await hashPassword(input.password);
  const { email, revoked } = await ctx.db.transaction(async (tx) => {
    const userId = await consumeAccountToken(tx, input.token, 'reset_password');
    const [user] = await tx.update(users).set({ passwordHash }).where(eq(users.id, userId)).returning();
    if (!user) throw new Error('a reset token outlived its user');
    const ended = await tx.delete(sessions).where(eq(sessions.userId, userId)).returning({ tokenHash: sessions.tokenHash });
    // Request contexts cache sessions for a few seconds: every process forgets these now.
    for (const s of ended) await notifyScoringChange(tx, { kind: 'session', tokenHash: s.tokenHash });
    const actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name } as const;
    await emitAudit(tx, { actor, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId }, {
      action: 'user.password_reset',
      target: { type: 'user', id: user.id },
      details: { sessionsEnded: ended.length },
    });
    return { email: user.email, revoked: ended.map((s) => s.tokenHash) };
  });
  for (const tokenHash of revoked) publishScoringChange(ctx.db, { kind: 'session', tokenHash });
  return { email, sessionsEnded: revoked.length };
}
