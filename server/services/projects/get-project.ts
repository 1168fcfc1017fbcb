import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { projects, teams } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { notFound } from '../errors';
import type { ProjectRef } from './schemas';

export async function getProject({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ProjectRef> }) {
  const [row] = await ctx.db
    .select({ project: projects, teamName: teams.name })
    .from(projects)
    .innerJoin(teams, eq(teams.id, projects.teamId))
    .where(eq(projects.id, input.projectId));
  if (!row) throw notFound('project');
  return { ...row.project, teamName: row.teamName };
}
