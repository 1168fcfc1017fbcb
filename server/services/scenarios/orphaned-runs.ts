import type { Db } from '@/db/client';
import { finishOrphanedRuns, type WorkflowState } from '../runs/orphaned-runs';
import { finishScenarioRun } from './run-state';

export type { WorkflowState } from '../runs/orphaned-runs';

/**
 * Finishes scenario runs whose workflow ended without finishing them (see finishOrphanedRuns); a
 * retrain step shadowing at the time would otherwise keep its shadow. The run is finished `failed`
 * through the one finish path (`finishScenarioRun`: open steps closed, shadows ended and their
 * decision audited, `scenario.run_complete` audited once).
 */
export function finishOrphanedScenarioRuns(db: Db, stateOf: (workflowId: string) => Promise<WorkflowState>, opts: { olderThanMs?: number } = {}): Promise<string[]> {
  return finishOrphanedRuns(
    db,
    'scenario',
    stateOf,
    async (run, state) => {
      const error = state === 'missing' ? "the run's workflow no longer exists in Temporal" : "the run's workflow ended without finishing the run (terminated or timed out)";
      return (
        await finishScenarioRun(db, {
          runId: run.id,
          cancelled: false,
          error,
          workflowId: run.workflowId,
        })
      ).first;
    },
    opts,
  );
}
