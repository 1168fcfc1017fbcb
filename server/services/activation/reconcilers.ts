import type { DeploymentReconciler } from '../deployments/reconciler-types';
import { syncTriggersAfterActivation } from '../scenarios/triggers/after-activation';
import { reconcileScenarios } from '../scenarios/reconcile-scenarios';

export type { ActivationPlan, AfterCommitOutcome, DeploymentReconciler } from '../deployments/reconciler-types';

/**
 * Scenarios and their triggers. After commit, the trigger sync creates, updates and deletes the
 * project's Temporal Schedules and dataset watcher workflows to match the bundle active then, keyed
 * by project, scenario and trigger position so that re-running it converges
 * (server/services/scenarios/triggers/README.md).
 */
export const scenarioSchedules: DeploymentReconciler = {
  name: 'scenarioSchedules',
  // The deployed scenarios (table `scenarios`, what runs start from); Schedules and watchers follow after commit.
  reconcile: (tx, plan) => reconcileScenarios(tx, plan),
  afterCommit: syncTriggersAfterActivation,
};

/** Reconcilers run after the endpoints, in this order. */
export const deploymentReconcilers: readonly DeploymentReconciler[] = [scenarioSchedules];
