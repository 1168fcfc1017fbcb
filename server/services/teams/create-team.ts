import type { z } from 'zod';
import { teamMembers, teams } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, requireUser, type ServiceCtx } from '../context';
import type { CreateTeamInput } from './schemas';

/** The creator becomes the team's first admin. */
export async function createTeam({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof CreateTeamInput> }) {
  const user = requireUser(ctx);
  return ctx.db.transaction(async (tx) => {
    const [team] = await tx.insert(teams).values({ name: input.name, createdBy: user.userId }).returning();
    if (!team) throw new Error('team insert returned no row');
    await tx.insert(teamMembers).values({ teamId: team.id, userId: user.userId, role: 'admin' });
    await emitAudit(tx, auditMetaOf(ctx), { action: 'team.create', target: { type: 'team', id: team.id }, teamId: team.id, details: { name: team.name } });
    return { id: team.id, name: team.name, createdAt: team.createdAt, role: 'admin' as const };
  });
}
