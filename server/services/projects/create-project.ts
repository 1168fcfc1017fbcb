import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { projects } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import type { CreateProjectInput } from './schemas';

export async function createProject({ ctx, input }: { ctx: ServiceCtx; input: z.input<typeof CreateProjectInput> }) {
  return ctx.db.transaction(async (tx) => {
    const [clash] = await tx.select({ id: projects.id }).from(projects).where(and(eq(projects.teamId, input.teamId), eq(projects.name, input.name)));
    if (clash) throw conflict(`this team already has a project named "${input.name}"`, 'name');
    const createdBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    const [project] = await tx
      .insert(projects)
      .values({ teamId: input.teamId, name: input.name, description: input.description ?? '', createdBy })
      .returning();
    if (!project) throw new Error('project insert returned no row');
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'project.create',
      target: { type: 'project', id: project.id },
      teamId: project.teamId,
      projectId: project.id,
      details: { name: project.name },
    });
    return project;
  });
}
