import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { buildSteps, pipelineGraphs, projects, runs } from '@/db/schema';
import { planBuild, type BuildPlanStep, type SkippedCell } from '@/server/pipeline';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { invalid, notFound, preconditionFailed } from '../errors';
import { compileCurrentNotebook } from '../pipeline/compile-notebook';
import type { BuildRunInput } from './build-view';
import type { StartBuildInput } from './schemas';

export const buildWorkflowIdOf = (runId: string) => `build-${runId}`;

/**
 * A build's step rows, in plan order. The graph has a ts cell's hash, not its code: each ts step
 * keeps the code the graph was compiled from (the notebook's or the bundle's cells).
 */
export function buildStepRows(runId: string, steps: readonly BuildPlanStep[], cells: readonly { id: string; source: string }[]): (typeof buildSteps.$inferInsert)[] {
  const sourceOf = new Map(cells.map((c) => [c.id, c.source]));
  return steps.map((s, ordinal) => ({
    runId,
    stepId: s.stepId,
    cellId: s.cellId,
    kind: s.kind,
    dataset: s.dataset,
    model: s.model ?? null,
    after: s.after,
    ordinal,
    source: s.kind === 'ts' || s.kind === 'python' ? (sourceOf.get(s.cellId) ?? null) : null,
  }));
}

/**
 * Compiles the notebook as it is now, stores the graph (content-addressed), the run (queued) and its
 * planned steps (pending) with the audit event in one transaction, then starts `build-<runId>`. The
 * workflow reads only what was stored here, so it never depends on later edits.
 */
export async function startBuild({
  ctx,
  input,
}: {
  ctx: ServiceCtx;
  input: z.output<typeof StartBuildInput>;
}): Promise<{ runId: string; skipped: SkippedCell[] }> {
  const workflows = ctx.workflows;
  if (!workflows) throw preconditionFailed('Temporal is not available in this role');
  const meta = auditMetaOf(ctx);
  const environment = 'design' as const;

  const { result, snapshot } = await compileCurrentNotebook(ctx, input, environment);
  // A broken cell blocks only itself and what depends on it: the graph's steps are the rest.
  const skipped = result.skipped;
  const skippedHere = input.target.kind === 'all' ? undefined : skipped.find((k) => k.cellId === (input.target as { cellId: string }).cellId);
  if (skippedHere) throw preconditionFailed(`cell "${skippedHere.name}" cannot be built: ${skippedHere.reason}`, { diagnostics: result.diagnostics, skipped });
  const planned = planBuild(result.graph, input.target);
  if (!planned.ok) {
    if (skipped.length > 0 && input.target.kind === 'all') {
      const listed = skipped.slice(0, 5).map((k) => `"${k.name}" (${k.reason})`).join('; ');
      throw preconditionFailed(`nothing to build: every cell that builds has errors or reads one that does: ${listed}${skipped.length > 5 ? '; ...' : ''}`, {
        diagnostics: result.diagnostics,
        skipped,
      });
    }
    throw invalid(planned.message, 'target');
  }

  const runId = randomUUID();
  const runInput: BuildRunInput = { environment, target: input.target, graphHash: result.hash, cellNames: result.cellNames, skipped };
  const teamId = await ctx.db.transaction(async (tx) => {
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, input.projectId));
    if (!project) throw notFound('project');
    await tx.insert(pipelineGraphs).values({ hash: result.hash, json: result.json }).onConflictDoNothing();
    await tx.insert(runs).values({
      id: runId,
      projectId: input.projectId,
      notebookId: input.notebookId,
      kind: 'build',
      status: 'queued',
      workflowId: buildWorkflowIdOf(runId),
      input: runInput,
      createdBy: actorLabel(meta.actor).actorLabel,
    });
    await tx.insert(buildSteps).values(buildStepRows(runId, planned.plan.steps, snapshot.cells));
    await emitAudit(tx, meta, {
      action: 'build.start',
      target: { type: 'run', id: runId },
      teamId: project.teamId,
      projectId: input.projectId,
      details: {
        notebookId: input.notebookId,
        environment,
        target: input.target,
        graphHash: result.hash,
        steps: planned.plan.steps.map((s) => ({ stepId: s.stepId, cell: result.cellNames[s.cellId] ?? s.cellId })),
        ...(skipped.length ? { skipped: skipped.map((k) => ({ cell: k.name, reason: k.reason })) } : {}),
      },
    });
    return project.teamId;
  });

  try {
    await workflows.startBuild({ runId, projectId: input.projectId, environment });
  } catch (err) {
    const error = `the workflow could not be started: ${err instanceof Error ? err.message : String(err)}`;
    console.error(`build ${runId}: ${error}`, err);
    await markNotStarted(ctx, { runId, projectId: input.projectId, teamId }, error);
    throw preconditionFailed(`Build ${runId} could not be started: Temporal did not accept the workflow`);
  }
  return { runId, skipped };
}

async function markNotStarted(ctx: ServiceCtx, run: { runId: string; projectId: string; teamId: string }, error: string) {
  await ctx.db.transaction(async (tx) => {
    const [failed] = await tx
      .update(runs)
      .set({ status: 'failed', error, finishedAt: new Date() })
      // Only a run still queued: if the start did reach Temporal after all, the workflow owns it.
      .where(and(eq(runs.id, run.runId), eq(runs.status, 'queued')))
      .returning({ id: runs.id });
    if (!failed) return;
    await tx.update(buildSteps).set({ status: 'cancelled' }).where(eq(buildSteps.runId, run.runId));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'build.complete',
      target: { type: 'run', id: run.runId },
      teamId: run.teamId,
      projectId: run.projectId,
      details: { status: 'failed', error },
    });
  });
}
