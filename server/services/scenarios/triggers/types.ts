import type { DeployedScenario } from './declared-triggers';

/** What one trigger sync did to one Temporal Schedule or watcher workflow. */
export type TriggerChange = {
  kind: 'schedule' | 'watcher';
  /** The schedule id or the watcher's workflow id. */
  id: string;
  scenario: string;
  change: 'create' | 'update' | 'delete' | 'unchanged';
};

export type TriggerSyncReport = { changes: TriggerChange[] };

/** What services ask of Temporal for triggers (see WorkflowStarter.syncScenarioTriggers). */
export type SyncScenarioTriggersRequest = {
  projectId: string;
  scenarios: readonly DeployedScenario[];
  previous?: readonly DeployedScenario[];
};
