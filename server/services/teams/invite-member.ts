import { and, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { teamInvitations, teamMembers, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import type { InviteMemberInput } from './schemas';

/**
 * An account with a verified email joins at once; any other email gets a pending invitation that
 * becomes a membership when its owner verifies the email (or an admin approves it): whoever signed
 * up with an address may not own it.
 */
export async function inviteMember({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof InviteMemberInput> }) {
  return ctx.db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id, verifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.email, input.email));
    if (user?.verifiedAt) {
      const [already] = await tx
        .select()
        .from(teamMembers)
        .where(and(eq(teamMembers.teamId, input.teamId), eq(teamMembers.userId, user.id)));
      if (already) throw conflict(`${input.email} is already a member of this team`, 'email');
      await tx.insert(teamMembers).values({ teamId: input.teamId, userId: user.id, role: input.role });
      await emitAudit(tx, auditMetaOf(ctx), {
        action: 'team.member_invite',
        target: { type: 'user', id: user.id },
        teamId: input.teamId,
        details: { email: input.email, role: input.role, joined: true },
      });
      return { status: 'added' as const, userId: user.id };
    }
    const [pending] = await tx
      .select({ id: teamInvitations.id })
      .from(teamInvitations)
      .where(and(eq(teamInvitations.teamId, input.teamId), eq(teamInvitations.email, input.email), isNull(teamInvitations.acceptedAt), isNull(teamInvitations.revokedAt)));
    if (pending) throw conflict(`${input.email} has already been invited`, 'email');
    const invitedBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    const [inv] = await tx.insert(teamInvitations).values({ teamId: input.teamId, email: input.email, role: input.role, invitedBy }).returning();
    if (!inv) throw new Error('invitation insert returned no row');
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'team.member_invite',
      target: { type: 'invitation', id: inv.id },
      teamId: input.teamId,
      details: { email: input.email, role: input.role, joined: false },
    });
    return { status: 'invited' as const, invitationId: inv.id };
  });
}
