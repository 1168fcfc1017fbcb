import { and, count, eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { teamMembers } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import type { ChangeMemberRoleInput } from './schemas';

/** Locks the team's membership rows so two concurrent demotions cannot both pass the last-admin check. */
export async function lockMembers(tx: DbOrTx, teamId: string) {
  return tx.select().from(teamMembers).where(eq(teamMembers.teamId, teamId)).for('update');
}

export async function countAdmins(tx: DbOrTx, teamId: string): Promise<number> {
  const [r] = await tx.select({ n: count() }).from(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.role, 'admin')));
  return r?.n ?? 0;
}

/** A demoted member's open notebooks lose write access at once (collab re-checks on the membership change). */
export async function changeMemberRole({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ChangeMemberRoleInput> }) {
  const result = await ctx.db.transaction(async (tx) => {
    const members = await lockMembers(tx, input.teamId);
    const member = members.find((m) => m.userId === input.userId);
    if (!member) throw notFound('team member');
    if (member.role === input.role) return { userId: input.userId, role: input.role };
    if (member.role === 'admin' && (await countAdmins(tx, input.teamId)) <= 1) {
      throw preconditionFailed('a team must keep at least one admin: promote another member first');
    }
    await tx.update(teamMembers).set({ role: input.role }).where(and(eq(teamMembers.teamId, input.teamId), eq(teamMembers.userId, input.userId)));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'team.member_role_change',
      target: { type: 'user', id: input.userId },
      teamId: input.teamId,
      details: { before: { role: member.role }, after: { role: input.role } },
    });
    await notifyScoringChange(tx, { kind: 'membership', teamId: input.teamId, userId: input.userId });
    return { userId: input.userId, role: input.role };
  });
  publishScoringChange(ctx.db, { kind: 'membership', teamId: input.teamId, userId: input.userId });
  return result;
}
