import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { projects, runs } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';
import type { BuildRef } from './schemas';

/**
 * Asks Temporal to cancel the build's workflow. The workflow cancels its running steps (their queries
 * are cancelled and staging tables dropped), marks what did not run as cancelled and finishes the run
 * as 'cancelled'; this returns once the request is recorded, not when the build has stopped.
 * Cancelling a finished build changes nothing.
 */
export async function cancelBuild({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof BuildRef> }): Promise<{ runId: string; status: string }> {
  const workflows = ctx.workflows;
  if (!workflows) throw preconditionFailed('Temporal is not available in this role');
  const meta = auditMetaOf(ctx);
  const run = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .select({ id: runs.id, status: runs.status, workflowId: runs.workflowId, teamId: projects.teamId })
      .from(runs)
      .innerJoin(projects, eq(projects.id, runs.projectId))
      .where(and(eq(runs.id, input.runId), eq(runs.projectId, input.projectId), eq(runs.kind, 'build')));
    if (!row) throw notFound('build');
    if (row.status === 'queued' || row.status === 'running') {
      await emitAudit(tx, meta, { action: 'build.cancel', target: { type: 'run', id: row.id }, teamId: row.teamId, projectId: input.projectId, details: { status: row.status } });
    }
    return row;
  });
  if (run.status === 'queued' || run.status === 'running') await workflows.cancel(run.workflowId);
  return { runId: run.id, status: run.status };
}
