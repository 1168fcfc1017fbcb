import { asc, eq } from 'drizzle-orm';
import { teamMembers, teams } from '@/db/schema';
import { requireUser, type ServiceCtx } from '../context';

export async function listTeams({ ctx }: { ctx: ServiceCtx }) {
  const user = requireUser(ctx);
  return ctx.db
    .select({ id: teams.id, name: teams.name, createdAt: teams.createdAt, role: teamMembers.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teamMembers.userId, user.userId))
    .orderBy(asc(teams.name));
}
