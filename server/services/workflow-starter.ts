import type { ScenarioTriggerInfo } from '@/workflows/shared/scenario';
import type { SyncScenarioTriggersRequest, TriggerSyncReport } from './scenarios/triggers/types';

/**
 * What services need of Temporal, kept narrow so services do not depend on the client library and
 * tests can see exactly which workflows were started.
 */
export type WorkflowStarter = {
  /** Starts `buildWorkflow` as `build-<runId>`; the run, its graph and its steps are already stored. */
  startBuild: (input: { runId: string; projectId: string; environment: 'design' | 'production' }) => Promise<{ workflowId: string }>;
  /** Starts `scenarioRunWorkflow` as `scenario-<runId>`; the run row is already stored (admitted). */
  startScenarioRun: (input: { runId: string; projectId: string; scenario: string; trigger: ScenarioTriggerInfo }) => Promise<{ workflowId: string }>;
  cancel: (workflowId: string) => Promise<void>;
  /**
   * Brings the project's scenario Schedules and dataset watchers in line with its deployed
   * scenarios (server/services/scenarios/triggers). Throws when some could not be synced.
   */
  syncScenarioTriggers: (input: SyncScenarioTriggersRequest) => Promise<TriggerSyncReport>;
};
