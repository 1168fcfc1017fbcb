/** The trigger sync's wire types live with WorkflowStarter (core), which carries them; re-exported here. */
export type { TriggerChange, TriggerSyncReport, SyncScenarioTriggersRequest } from '../../workflow-starter';
