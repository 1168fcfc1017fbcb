import { log, makeContinueAsNewFunc, proxyActivities, setHandler, sleep, upsertMemo, workflowInfo } from '@temporalio/workflow';
import {
  WATCH_CHECKS_PER_RUN,
  scenarioWatchStateQuery,
  watcherMemoKeys,
  type ScenarioWatchActivities,
  type ScenarioWatchInput,
  type ScenarioWatchState,
} from '../shared/scenario-watch';

const { computeDatasetFingerprint } = proxyActivities<ScenarioWatchActivities>({
  // The fingerprint query has its own statement timeout (1 minute); this bounds the whole attempt.
  startToCloseTimeout: '2 minutes',
  // No attempt limit: a database that is down is waited out, not fatal to the watcher.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const { startScenarioRunForChange } = proxyActivities<ScenarioWatchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * Watches one dataset_change trigger: every `everyMs` (a durable timer) it fingerprints the
 * production dataset and, when the fingerprint differs from the last one seen, starts a run of the
 * scenario. The first reading of a fresh watcher is the baseline (nothing starts). Continues as new
 * every WATCH_CHECKS_PER_RUN checks with the last fingerprint, so its history stays short. A
 * cancellation (from the Temporal UI) ends it between checks; the trigger sync terminates watchers
 * that are no longer declared, which needs no worker.
 */
export async function scenarioWatchWorkflow(input: ScenarioWatchInput): Promise<void> {
  const spec = { projectId: input.projectId, dataset: input.dataset, ...(input.column ? { column: input.column } : {}), ...(input.sql ? { sql: input.sql } : {}) };
  const state: ScenarioWatchState = { lastFingerprint: input.lastFingerprint, lastCheckedAt: null, checks: 0, runsStarted: 0, lastProblem: null };
  setHandler(scenarioWatchStateQuery, () => state);

  const checksPerRun = input.checksPerRun ?? WATCH_CHECKS_PER_RUN;
  while (state.checks < checksPerRun && !workflowInfo().continueAsNewSuggested) {
    const reading = await computeDatasetFingerprint(spec);
    state.checks++;
    state.lastCheckedAt = new Date().toISOString();
    if ((reading.problem ?? null) !== state.lastProblem) {
      if (reading.problem) log.warn('dataset fingerprint failed', { dataset: input.dataset, problem: reading.problem });
      state.lastProblem = reading.problem ?? null;
    }
    const last = state.lastFingerprint;
    // A failed reading says nothing about the data: compare the next good one with the last good one.
    if (reading.problem !== undefined) {
      await sleep(input.everyMs);
      continue;
    }
    if (last !== undefined && reading.fingerprint !== last) {
      const started = await startScenarioRunForChange({
        projectId: input.projectId,
        scenario: input.scenario,
        triggerIndex: input.triggerIndex,
        dataset: input.dataset,
        from: last,
        to: reading.fingerprint,
        firedAt: state.lastCheckedAt,
        watcher: workflowInfo().workflowId,
        check: state.checks,
      });
      if (started.started) state.runsStarted++;
      else log.info('dataset changed, run not started', { scenario: input.scenario, reason: started.reason });
    }
    if (reading.fingerprint !== last) {
      state.lastFingerprint = reading.fingerprint;
      // The trigger sync reads it when it restarts this watcher with a new interval.
      upsertMemo({ [watcherMemoKeys.fingerprint]: { value: reading.fingerprint } }); // null would clear the key
    }
    await sleep(input.everyMs);
  }
  const next: ScenarioWatchInput = { ...input };
  if (state.lastFingerprint === undefined) delete next.lastFingerprint;
  else next.lastFingerprint = state.lastFingerprint;
  // The memo (definition for the trigger sync, last reading) goes along explicitly.
  await makeContinueAsNewFunc<typeof scenarioWatchWorkflow>({ memo: workflowInfo().memo ?? {} })(next);
}
