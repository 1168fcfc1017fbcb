import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { runs } from '@/db/schema';
import { finishScenarioRun } from './run-state';

export type WorkflowState = 'running' | 'closed' | 'missing';

/** Runs checked per sweep, oldest first. */
const SWEEP_LIMIT = 100;

/**
 * Finishes scenario runs whose workflow ended without finishing them: terminated from the Temporal
 * UI or CLI, timed out, or gone. Such a workflow runs no more code, so its run would stay `running`
 * (or `queued`) forever, and a retrain step shadowing at the time would keep its shadow. The run is
 * finished `failed` through the one finish path (`finishScenarioRun`: open steps closed, shadows
 * ended and their decision audited, `scenario.run_complete` audited once). Runs younger than
 * `olderThanMs` are left alone: an API start records the run just before it starts the workflow.
 * Several processes may sweep at once: finishing is idempotent.
 */
export async function finishOrphanedScenarioRuns(db: Db, stateOf: (workflowId: string) => Promise<WorkflowState>, opts: { olderThanMs?: number } = {}): Promise<string[]> {
  const cutoff = new Date(Date.now() - (opts.olderThanMs ?? 60_000));
  const open = await db
    .select({ id: runs.id, workflowId: runs.workflowId })
    .from(runs)
    .where(and(eq(runs.kind, 'scenario'), inArray(runs.status, ['queued', 'running']), lt(runs.createdAt, cutoff)))
    .orderBy(asc(runs.createdAt))
    .limit(SWEEP_LIMIT);
  const finished: string[] = [];
  for (const run of open) {
    const state = await stateOf(run.workflowId);
    if (state === 'running') continue;
    const error = state === 'missing' ? "the run's workflow no longer exists in Temporal" : "the run's workflow ended without finishing the run (terminated or timed out)";
    const result = await finishScenarioRun(db, { runId: run.id, cancelled: false, error, workflowId: run.workflowId });
    if (result.first) finished.push(run.id);
  }
  return finished;
}
