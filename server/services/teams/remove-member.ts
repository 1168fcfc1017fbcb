import { and, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { teamInvitations, teamMembers } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { countAdmins, lockMembers } from './change-member-role';
import type { RemoveMemberInput, RevokeInvitationInput } from './schemas';

/** A removed member's open notebooks are closed at once (collab re-checks on the membership change). */
export async function removeMember({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof RemoveMemberInput> }) {
  const result = await ctx.db.transaction(async (tx) => {
    const members = await lockMembers(tx, input.teamId);
    const member = members.find((m) => m.userId === input.userId);
    if (!member) throw notFound('team member');
    if (member.role === 'admin' && (await countAdmins(tx, input.teamId)) <= 1) {
      throw preconditionFailed('the last admin of a team cannot be removed');
    }
    await tx.delete(teamMembers).where(and(eq(teamMembers.teamId, input.teamId), eq(teamMembers.userId, input.userId)));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'team.member_remove',
      target: { type: 'user', id: input.userId },
      teamId: input.teamId,
      details: { before: { role: member.role } },
    });
    await notifyScoringChange(tx, { kind: 'membership', teamId: input.teamId, userId: input.userId });
    return { removed: true };
  });
  publishScoringChange(ctx.db, { kind: 'membership', teamId: input.teamId, userId: input.userId });
  return result;
}

export async function revokeInvitation({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof RevokeInvitationInput> }) {
  return ctx.db.transaction(async (tx) => {
    const [inv] = await tx
      .update(teamInvitations)
      .set({ revokedAt: new Date() })
      .where(and(eq(teamInvitations.id, input.invitationId), eq(teamInvitations.teamId, input.teamId), isNull(teamInvitations.acceptedAt), isNull(teamInvitations.revokedAt)))
      .returning();
    if (!inv) throw notFound('pending invitation');
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'team.invitation_revoke',
      target: { type: 'invitation', id: inv.id },
      teamId: input.teamId,
      details: { email: inv.email },
    });
    return { revoked: true };
  });
}
