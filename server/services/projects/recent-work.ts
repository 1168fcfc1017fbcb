import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { notebooks, projects, teamMembers, teams } from '@/db/schema';
import { requireUser, type ServiceCtx } from '../context';

export type RecentProject = { id: string; name: string; description: string; teamId: string; teamName: string; lastActivityAt: string };
export type RecentNotebook = { id: string; name: string; projectId: string; projectName: string; teamName: string; updatedAt: string };

const RECENT = 8;

/**
 * What a person comes back to after signing in: the projects of their teams with the latest
 * activity (a notebook edit, a run, or the project's creation) and the notebooks edited last.
 */
export async function recentWork({ ctx }: { ctx: ServiceCtx }): Promise<{ projects: RecentProject[]; notebooks: RecentNotebook[] }> {
  const user = requireUser(ctx);
  const lastActivity = sql<Date>`greatest(
    ${projects.createdAt},
    (select max(n.updated_at) from notebooks n where n.project_id = ${projects.id} and n.deleted_at is null),
    (select max(r.created_at) from runs r where r.project_id = ${projects.id})
  )`;
  const [recentProjects, recentNotebooks] = await Promise.all([
    ctx.db
      .select({ id: projects.id, name: projects.name, description: projects.description, teamId: teams.id, teamName: teams.name, lastActivityAt: lastActivity })
      .from(teamMembers)
      .innerJoin(teams, eq(teams.id, teamMembers.teamId))
      .innerJoin(projects, eq(projects.teamId, teams.id))
      .where(eq(teamMembers.userId, user.userId))
      .orderBy(desc(lastActivity))
      .limit(RECENT),
    ctx.db
      .select({ id: notebooks.id, name: notebooks.name, projectId: projects.id, projectName: projects.name, teamName: teams.name, updatedAt: notebooks.updatedAt })
      .from(teamMembers)
      .innerJoin(teams, eq(teams.id, teamMembers.teamId))
      .innerJoin(projects, eq(projects.teamId, teams.id))
      .innerJoin(notebooks, eq(notebooks.projectId, projects.id))
      .where(and(eq(teamMembers.userId, user.userId), isNull(notebooks.deletedAt)))
      .orderBy(desc(notebooks.updatedAt))
      .limit(RECENT),
  ]);
  return {
    projects: recentProjects.map((p) => ({ ...p, lastActivityAt: new Date(p.lastActivityAt).toISOString() })),
    notebooks: recentNotebooks.map((n) => ({ ...n, updatedAt: n.updatedAt.toISOString() })),
  };
}
