import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { teamInvitations, teamMembers, users } from '@/db/schema';
import { emitAudit, type AuditMeta } from '../audit/emit';
import type { ServiceCtx, UserId } from '../context';
import { requireUser } from '../context';
import { consumeAccountToken, issueAccountToken } from './account-tokens';
import { sendAccountMail } from './account-mail';
import { takeAttempt } from './attempt-limits';

export const AccountToken = z.string({ error: 'token is required' }).min(20, 'token is not a valid link token').max(200, 'token is not a valid link token');
export const VerifyEmailInput = z.object({ token: AccountToken });
export type VerifyEmailInput = z.infer<typeof VerifyEmailInput>;

/**
 * Turns the pending invitations for a user's email into memberships. Called only once the email is
 * verified (or an admin approved one invitation): signing up with someone's address is not enough.
 */
export async function honourInvitations(tx: DbOrTx, user: { id: string; email: string }, meta: AuditMeta): Promise<number> {
  const pending = await tx
    .select()
    .from(teamInvitations)
    .where(and(eq(teamInvitations.email, user.email), isNull(teamInvitations.acceptedAt), isNull(teamInvitations.revokedAt)));
  for (const inv of pending) {
    await tx.insert(teamMembers).values({ teamId: inv.teamId, userId: user.id, role: inv.role }).onConflictDoNothing();
    await tx.update(teamInvitations).set({ acceptedAt: new Date() }).where(eq(teamInvitations.id, inv.id));
    await emitAudit(tx, meta, {
      action: 'team.invitation_accept',
      target: { type: 'user', id: user.id },
      teamId: inv.teamId,
      details: { email: user.email, role: inv.role, invitationId: inv.id },
    });
  }
  return pending.length;
}

/** The emailed link: marks the email verified and honours the invitations waiting for it. */
export async function verifyEmail({ ctx, input }: { ctx: ServiceCtx; input: VerifyEmailInput }) {
  return ctx.db.transaction(async (tx) => {
    const userId = await consumeAccountToken(tx, input.token, 'verify_email');
    const [user] = await tx.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, userId)).returning();
    if (!user) throw new Error('a verification token outlived its user');
    const actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name } as const;
    const meta = { actor, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId };
    await emitAudit(tx, meta, { action: 'user.email_verify', target: { type: 'user', id: user.id }, details: { email: user.email } });
    const joined = await honourInvitations(tx, user, meta);
    return { email: user.email, teamsJoined: joined };
  });
}

/** Sends (again) a verification link to the signed-in user, unless the email is verified already. */
export async function sendVerification({ ctx }: { ctx: ServiceCtx }): Promise<{ sent: boolean; verified: boolean }> {
  const actor = requireUser(ctx);
  const [user] = await ctx.db.select({ verifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.id, actor.userId));
  if (user?.verifiedAt) return { sent: false, verified: true };
  await takeAttempt(ctx.db, [{ key: `verify:user:${actor.userId}`, max: 5 }], 'too many verification emails; try again in 15 minutes');
  const token = await issueAccountToken(ctx.db, actor.userId, 'verify_email');
  return { sent: await sendAccountMail(actor.email, { kind: 'verify_email', token }), verified: false };
}
