import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { teamInvitations, teamMembers, teams, users } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { notFound } from '../errors';
import type { TeamRef } from './schemas';

export async function getTeam({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof TeamRef> }) {
  const [team] = await ctx.db.select().from(teams).where(eq(teams.id, input.teamId));
  if (!team) throw notFound('team');
  let myRole: string | null = null;
  if (ctx.actor?.type === 'user') {
    const [m] = await ctx.db
      .select({ role: teamMembers.role })
      .from(teamMembers)
      .where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, ctx.actor.userId)));
    myRole = m?.role ?? null;
  }
  return { id: team.id, name: team.name, createdAt: team.createdAt, myRole };
}

export async function listMembers({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof TeamRef> }) {
  const members = await ctx.db
    .select({ userId: users.id, email: users.email, name: users.name, role: teamMembers.role, joinedAt: teamMembers.createdAt })
    .from(teamMembers)
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(eq(teamMembers.teamId, input.teamId))
    .orderBy(asc(users.email));
  const invitations = await ctx.db
    // hasAccount: someone signed up with this email but has not verified it; an admin may approve.
    .select({ id: teamInvitations.id, email: teamInvitations.email, role: teamInvitations.role, createdAt: teamInvitations.createdAt, hasAccount: sql<boolean>`${users.id} is not null` })
    .from(teamInvitations)
    .leftJoin(users, eq(users.email, teamInvitations.email))
    .where(and(eq(teamInvitations.teamId, input.teamId), isNull(teamInvitations.acceptedAt), isNull(teamInvitations.revokedAt)))
    .orderBy(asc(teamInvitations.email));
  return { members, invitations };
}
