import { Context } from '@temporalio/activity';
import type { Db } from '@/db/client';
import type { ServiceCtx } from '@/server/services/context';
import { ServiceError } from '@/server/services/errors';
import { datasetFingerprint } from '@/server/services/scenarios/triggers/dataset-fingerprint';
import { runIdFor, startScenarioRun } from '@/server/services/scenarios/start-scenario-run';
import { createWorkflowStarter } from '../client';
import type { ScenarioWatchActivities } from '../shared/scenario-watch';

/**
 * The dataset watcher's activities: a fingerprint of a production dataset (read-only, in the
 * project's sandbox), and starting a run when it changed. The start is keyed by the watcher's
 * execution and check number, so a retried activity (a killed worker) addresses the same run.
 */
export function createScenarioWatchActivities(db: Db): ScenarioWatchActivities {
  return {
    computeDatasetFingerprint(spec) {
      return datasetFingerprint(db, spec, { signal: Context.current().cancellationSignal });
    },

    async startScenarioRunForChange(input) {
      const info = Context.current().info;
      const execution = info.workflowExecution;
      if (!execution) throw new Error('startScenarioRunForChange must be scheduled by a watcher workflow');
      const ctx: ServiceCtx = {
        db,
        actor: { type: 'workflow', workflowId: execution.workflowId },
        requestId: null,
        clientIp: null,
        workflows: createWorkflowStarter(Context.current().client, info.taskQueue),
      };
      try {
        const run = await startScenarioRun({
          ctx,
          projectId: input.projectId,
          scenario: input.scenario,
          runId: runIdFor(`watch:${execution.workflowId}:${execution.runId}:${input.check}`),
          trigger: {
            kind: 'dataset_change',
            detail: { dataset: input.dataset, from: input.from, to: input.to, triggerIndex: input.triggerIndex, watcher: input.watcher },
            firedAt: input.firedAt,
          },
        });
        return { runId: run.runId, started: run.status !== 'skipped', ...(run.reason ? { reason: run.reason } : {}) };
      } catch (err) {
        // The scenario left production (a rollback) before its watcher was stopped: nothing to run.
        if (err instanceof ServiceError && err.kind === 'NotFound') return { runId: '', started: false, reason: err.message };
        throw err;
      }
    },
  };
}
