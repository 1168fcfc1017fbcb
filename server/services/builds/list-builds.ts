import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { buildSteps, runs, type BuildStepStatus } from '@/db/schema';
import { workflowActorNames } from '../audit/audit-names';
import type { ServiceCtx } from '../context';
import { buildSummary, type BuildSummary } from './build-view';
import type { ListBuildsInput } from './schemas';

/**
 * A project's builds (or one notebook's), newest first, with step counts per status.
 * `startedByName`: a build a workflow started (a scenario's build step), as the audit log words it.
 */
export async function listBuilds({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListBuildsInput> }): Promise<(BuildSummary & { startedByName: string | null })[]> {
  const rows = await ctx.db
    .select()
    .from(runs)
    .where(and(eq(runs.projectId, input.projectId), eq(runs.kind, 'build'), input.notebookId ? eq(runs.notebookId, input.notebookId) : undefined))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(input.limit);
  if (rows.length === 0) return [];
  const counts = await ctx.db
    .select({ runId: buildSteps.runId, status: buildSteps.status, n: sql<number>`count(*)::int` })
    .from(buildSteps)
    .where(inArray(buildSteps.runId, rows.map((r) => r.id)))
    .groupBy(buildSteps.runId, buildSteps.status);
  const workflowOf = (createdBy: string) => (createdBy.startsWith('workflow:') ? createdBy.slice('workflow:'.length) : null);
  const names = await workflowActorNames(ctx.db, [...new Set(rows.map((r) => workflowOf(r.createdBy)).filter((w) => w !== null))]);
  return rows.map((run) => {
    const steps: { status: BuildStepStatus }[] = [];
    for (const c of counts) if (c.runId === run.id) for (let i = 0; i < Number(c.n); i++) steps.push({ status: c.status });
    const workflow = workflowOf(run.createdBy);
    return { ...buildSummary(run, steps), startedByName: workflow ? (names.get(workflow) ?? null) : null };
  });
}
