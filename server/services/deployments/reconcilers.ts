import type { Tx } from '@/db/client';
import type { BundleManifest } from '../bundles/manifest';
import type { ServiceCtx } from '../context';
import { syncTriggersAfterActivation } from '../scenarios/triggers/after-activation';
import { reconcileScenarios } from '../scenarios/reconcile-scenarios';

/** What an activation is switching from and to, handed to every reconciler inside its transaction. */
export type ActivationPlan = {
  projectId: string;
  bundleHash: string;
  manifest: BundleManifest;
  /** The bundle active before, or null for a first deployment. */
  previous: { bundleHash: string; manifest: BundleManifest } | null;
};

/**
 * One kind of production resource a bundle declares, brought in line with it on activation.
 * `reconcile` runs inside the activation's transaction: it must throw (rolling everything back)
 * rather than leave its resource half-switched. Work outside the database (Temporal Schedules and
 * watchers) belongs in `afterCommit`, which must be idempotent and is re-run by re-activating.
 */
export type DeploymentReconciler = {
  name: string;
  reconcile(tx: Tx, plan: ActivationPlan): Promise<Record<string, unknown>>;
  afterCommit?(plan: ActivationPlan, ctx: ServiceCtx): Promise<AfterCommitOutcome>;
};

/** What an `afterCommit` did, for the deploy answer; a failure is thrown and reported as `failed`. */
export type AfterCommitOutcome = { status: 'ok' | 'skipped'; message?: string; details?: Record<string, unknown> };

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
