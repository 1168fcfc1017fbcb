import type { ScenarioTriggerInfo } from '@/workflows/shared/scenario';
import type { ScenarioSpec } from '@/server/pipeline/scenario-cell';

/**
 * What services need of Temporal, kept narrow so services do not depend on the client library and
 * tests can see exactly which workflows were started.
 */
export type WorkflowStarter = {
  /** Starts `buildWorkflow` as `build-<runId>`; the run, its graph and its steps are already stored. */
  startBuild: (input: { runId: string; projectId: string; environment: 'design' | 'production' }) => Promise<{ workflowId: string }>;
  /** Starts `scenarioRunWorkflow` as `scenario-<runId>`; the run row is already stored (admitted). */
  startScenarioRun: (input: { runId: string; projectId: string; scenario: string; trigger: ScenarioTriggerInfo }) => Promise<{ workflowId: string }>;
  /** Starts `trainWorkflow` as `train-<runId>`; the run (kind `train`, the train form's request) is already stored. */
  startTraining: (input: { runId: string; projectId: string }) => Promise<{ workflowId: string }>;
  cancel: (workflowId: string) => Promise<void>;
  /**
   * Brings the project's scenario Schedules and dataset watchers in line with its deployed
   * scenarios (server/services/scenarios/triggers). Throws when some could not be synced.
   */
  syncScenarioTriggers: (input: SyncScenarioTriggersRequest) => Promise<TriggerSyncReport>;
};

/**
 * A scenario as a deployed bundle declares it. `enabled: false` (a deployer disabled it on the
 * Production page; default true): its Schedules are paused and its watchers stopped.
 */
export type DeployedScenario = { name: string; bundleHash: string; spec: ScenarioSpec; enabled?: boolean };

/** What one trigger sync did to one Temporal Schedule or watcher workflow. */
export type TriggerChange = {
  kind: 'schedule' | 'watcher';
  /** The schedule id or the watcher's workflow id. */
  id: string;
  scenario: string;
  /** pause / resume: a Schedule of a scenario disabled / enabled on the Production page. */
  change: 'create' | 'update' | 'delete' | 'unchanged' | 'pause' | 'resume';
};

export type TriggerSyncReport = { changes: TriggerChange[] };

/** What services ask of Temporal for triggers (see WorkflowStarter.syncScenarioTriggers). */
export type SyncScenarioTriggersRequest = {
  projectId: string;
  scenarios: readonly DeployedScenario[];
  previous?: readonly DeployedScenario[];
};
