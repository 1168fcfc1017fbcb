import { and, asc, eq } from 'drizzle-orm';
import { runs, runSteps } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { notFound } from '../errors';

/** A run with its recorded steps, in the order they completed. */
export async function getRun({ ctx, input }: { ctx: ServiceCtx; input: { projectId: string; runId: string } }) {
  const [run] = await ctx.db
    .select()
    .from(runs)
    .where(and(eq(runs.id, input.runId), eq(runs.projectId, input.projectId)));
  if (!run) throw notFound('run');
  const steps = await ctx.db
    .select({ step: runSteps.step, output: runSteps.output, completedAt: runSteps.completedAt })
    .from(runSteps)
    .where(eq(runSteps.runId, run.id))
    .orderBy(asc(runSteps.completedAt), asc(runSteps.step));
  return { ...run, steps };
}
