import { asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { projects } from '@/db/schema';
import type { ServiceCtx } from '../context';
import type { TeamRef } from '../teams/schemas';

export async function listProjects({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof TeamRef> }) {
  return ctx.db.select().from(projects).where(eq(projects.teamId, input.teamId)).orderBy(asc(projects.name));
}
