import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { runs } from '@/db/schema';
import type { ScenarioTriggerInfo } from '@/workflows/shared/scenario';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';
import { teamOfProject } from '../endpoints/find-endpoint';
import { admitScenarioRun, lockScenario } from './run-state';

export type StartedScenarioRun = {
  runId: string;
  workflowId: string;
  /** `queued`: started (it may wait its turn under queue_one); `skipped`: refused by the overlap policy, recorded. */
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
  /** Why it was skipped. */
  reason: string | null;
};

/** A run id derived from a key: starting twice with one key (a retried activity) addresses one run. */
export function runIdFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Starts a run of a deployed scenario: the one path for the API (manual), after_scenario chaining
 * and the triggers engineer's callers. Admits the run under the scenario's overlap policy in one
 * transaction (the scenario row is the lock), then starts workflow `scenario-<runId>`. A skipped run
 * is recorded and not started. `runId` makes it idempotent: a run that exists is returned as it is.
 */
export async function startScenarioRun({
  ctx,
  projectId,
  scenario,
  trigger,
  runId,
}: {
  ctx: ServiceCtx;
  projectId: string;
  scenario: string;
  trigger: ScenarioTriggerInfo;
  runId?: string;
}): Promise<StartedScenarioRun> {
  const workflows = ctx.workflows;
  if (!workflows) throw preconditionFailed('Temporal is not available in this role');
  const meta = auditMetaOf(ctx);
  const admitted = await ctx.db.transaction(async (tx) => {
    const row = await lockScenario(tx, projectId, scenario);
    if (!row) throw notFound(`scenario "${scenario}" (it is not deployed in this project's production)`);
    return admitScenarioRun(tx, meta, { scenario: row, trigger, ...(runId ? { runId } : {}) });
  });
  if (admitted.status !== 'queued') return { runId: admitted.runId, workflowId: admitted.workflowId, status: admitted.status, reason: admitted.reason };
  try {
    await workflows.startScenarioRun({ projectId, scenario, trigger, runId: admitted.runId });
  } catch (err) {
    const error = `the workflow could not be started: ${err instanceof Error ? err.message : String(err)}`;
    console.error(`scenario run ${admitted.runId}: ${error}`, err);
    await ctx.db.transaction(async (tx) => {
      const [failed] = await tx
        .update(runs)
        .set({ status: 'failed', error, finishedAt: new Date() })
        // Only a run still queued: if the start reached Temporal after all, the workflow owns it.
        .where(and(eq(runs.id, admitted.runId), eq(runs.status, 'queued')))
        .returning({ id: runs.id });
      if (!failed) return;
      await emitAudit(tx, meta, {
        action: 'scenario.run_complete',
        target: { type: 'run', id: admitted.runId },
        teamId: await teamOfProject(tx, projectId),
        projectId,
        details: { scenario, status: 'failed', error, trigger },
      });
    });
    throw preconditionFailed(`Scenario run ${admitted.runId} could not be started: Temporal did not accept the workflow`);
  }
  return { runId: admitted.runId, workflowId: admitted.workflowId, status: 'queued', reason: null };
}
