import type { DeployedScenario } from './declared-triggers';

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
