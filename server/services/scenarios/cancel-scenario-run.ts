import type { z } from 'zod';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { teamOfProject } from '../endpoints/find-endpoint';
import { preconditionFailed } from '../errors';
import { findScenarioRun } from './scenario-view';
import type { ScenarioRunRef } from './schemas';
import { startScenarioRun, type StartedScenarioRun } from './start-scenario-run';
import type { ScenarioRunStored } from './run-state';

/**
 * Asks Temporal to cancel the run's workflow: running steps are cancelled (a build's queries, a
 * training), the rest marked cancelled, the run ends `cancelled`. Returns once asked, with the
 * status it had. Audited `scenario.run_cancel` when it was still queued or running.
 */
export async function cancelScenarioRun({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ScenarioRunRef> }): Promise<{ runId: string; status: string }> {
  const workflows = ctx.workflows;
  if (!workflows) throw preconditionFailed('Temporal is not available in this role');
  const meta = auditMetaOf(ctx);
  const run = await ctx.db.transaction(async (tx) => {
    const row = await findScenarioRun(tx, input.projectId, input.runId);
    if (row.status === 'queued' || row.status === 'running') {
      await emitAudit(tx, meta, {
        action: 'scenario.run_cancel',
        target: { type: 'run', id: row.id },
        teamId: await teamOfProject(tx, input.projectId),
        projectId: input.projectId,
        details: { scenario: (row.input as ScenarioRunStored).scenario, status: row.status },
      });
    }
    return row;
  });
  if (run.status === 'queued' || run.status === 'running') await workflows.cancel(run.workflowId);
  return { runId: run.id, status: run.status };
}

/** Starts a new run of the same scenario (as deployed now), manual, naming the run it repeats. */
export async function rerunScenarioRun({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ScenarioRunRef> }): Promise<StartedScenarioRun> {
  const run = await findScenarioRun(ctx.db, input.projectId, input.runId);
  const stored = run.input as ScenarioRunStored;
  return startScenarioRun({ ctx, projectId: input.projectId, scenario: stored.scenario, trigger: { kind: 'manual', detail: { by: actorName(ctx), rerunOf: run.id }, firedAt: new Date().toISOString() } });
}

export function actorName(ctx: ServiceCtx): string {
  const a = ctx.actor;
  if (!a) return 'unknown';
  switch (a.type) {
    case 'user':
      return a.email;
    case 'apiKey':
      return `key:${a.name}`;
    case 'system':
      return `system:${a.name}`;
    case 'workflow':
      return `workflow:${a.workflowId}`;
  }
}
