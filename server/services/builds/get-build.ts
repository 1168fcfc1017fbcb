import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { buildSteps, runs } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { notFound } from '../errors';
import { buildStepView, buildSummary, type BuildRunInput, type BuildView } from './build-view';
import type { BuildRef } from './schemas';

/** A build run and its steps in dependency order; the UI polls this while the build runs. */
export async function getBuild({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof BuildRef> }): Promise<BuildView> {
  const [run] = await ctx.db
    .select()
    .from(runs)
    .where(and(eq(runs.id, input.runId), eq(runs.projectId, input.projectId), eq(runs.kind, 'build')));
  if (!run) throw notFound('build');
  const steps = await ctx.db.select().from(buildSteps).where(eq(buildSteps.runId, run.id)).orderBy(asc(buildSteps.ordinal));
  const names = (run.input as BuildRunInput).cellNames ?? {};
  return { ...buildSummary(run, steps), steps: steps.map((s) => buildStepView(s, names)) };
}
