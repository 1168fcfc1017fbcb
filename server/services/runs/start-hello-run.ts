import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { projects, runs } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';

export type StartHelloRunInput = { projectId: string; message: string; stepDelayMs?: number | undefined };

/**
 * Records the run (queued) and its audit event in one transaction, then asks Temporal to start the
 * workflow. The row is committed first so the workflow always finds it; if Temporal refuses, the run
 * is marked failed rather than left queued forever.
 */
export async function startHelloRun({ ctx, input }: { ctx: ServiceCtx; input: StartHelloRunInput }) {
  const workflows = ctx.workflows;
  if (!workflows) throw preconditionFailed('Temporal is not available in this role');
  const meta = auditMetaOf(ctx);

  const { run, teamId } = await ctx.db.transaction(async (tx) => {
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, input.projectId));
    if (!project) throw notFound('project');
    const runId = randomUUID();
    const runInput = { message: input.message, ...(input.stepDelayMs === undefined ? {} : { stepDelayMs: input.stepDelayMs }) };
    const [row] = await tx
      .insert(runs)
      .values({
        id: runId,
        projectId: input.projectId,
        kind: 'hello',
        status: 'queued',
        workflowId: `hello-${runId}`,
        input: runInput,
        createdBy: actorLabel(meta.actor).actorLabel,
      })
      .returning();
    if (!row) throw new Error('run insert returned no row');
    await emitAudit(tx, meta, {
      action: 'run.start',
      target: { type: 'run', id: row.id },
      teamId: project.teamId,
      projectId: row.projectId,
      details: { kind: row.kind, workflowId: row.workflowId, input: runInput },
    });
    return { run: row, teamId: project.teamId };
  });

  try {
    await workflows.startHelloRun({ runId: run.id, projectId: run.projectId, message: input.message, stepDelayMs: input.stepDelayMs });
  } catch (err) {
    const error = `the workflow could not be started: ${err instanceof Error ? err.message : String(err)}`;
    await markNotStarted(ctx, { ...run, teamId }, error);
    console.error(`run ${run.id}: ${error}`, err);
    throw preconditionFailed(`Run ${run.id} could not be started: Temporal did not accept the workflow`);
  }
  return run;
}

async function markNotStarted(ctx: ServiceCtx, run: { id: string; projectId: string; teamId: string; kind: string }, error: string) {
  await ctx.db.transaction(async (tx) => {
    const [failed] = await tx
      .update(runs)
      .set({ status: 'failed', error, finishedAt: new Date() })
      // Only a run still queued: if the start did reach Temporal after all, the workflow owns it.
      .where(and(eq(runs.id, run.id), eq(runs.status, 'queued')))
      .returning({ id: runs.id });
    if (!failed) return;
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'run.complete',
      target: { type: 'run', id: run.id },
      teamId: run.teamId,
      projectId: run.projectId,
      details: { kind: run.kind, status: 'failed', error },
    });
  });
}
