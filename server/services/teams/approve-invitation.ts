import { and, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { teamInvitations, teamMembers, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';
import type { ApproveInvitationInput } from './schemas';

/**
 * An admin vouches that the account signed up under an invited email belongs to the person they
 * invited: the way in when the server sends no email (no SMTP), or the link was lost. Only this
 * team's invitation is honoured; the email itself stays unverified.
 */
export async function approveInvitation({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ApproveInvitationInput> }) {
  return ctx.db.transaction(async (tx) => {
    const [inv] = await tx
      .select()
      .from(teamInvitations)
      .where(and(eq(teamInvitations.id, input.invitationId), eq(teamInvitations.teamId, input.teamId), isNull(teamInvitations.acceptedAt), isNull(teamInvitations.revokedAt)))
      .for('update');
    if (!inv) throw notFound('pending invitation');
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.email, inv.email));
    if (!user) throw preconditionFailed(`${inv.email} has no account yet: it can be approved once they sign up`);
    await tx.insert(teamMembers).values({ teamId: inv.teamId, userId: user.id, role: inv.role }).onConflictDoNothing();
    await tx.update(teamInvitations).set({ acceptedAt: new Date() }).where(eq(teamInvitations.id, inv.id));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'team.invitation_approve',
      target: { type: 'user', id: user.id },
      teamId: inv.teamId,
      details: { email: inv.email, role: inv.role, invitationId: inv.id },
    });
    return { userId: user.id, role: inv.role };
  });
}
