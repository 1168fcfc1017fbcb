import { desc, eq } from 'drizzle-orm';
import { runs } from '@/db/schema';
import type { ServiceCtx } from '../context';

/** A project's runs, newest first. */
export async function listRuns({ ctx, input }: { ctx: ServiceCtx; input: { projectId: string; limit?: number | undefined } }) {
  return ctx.db
    .select()
    .from(runs)
    .where(eq(runs.projectId, input.projectId))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(input.limit ?? 50);
}
