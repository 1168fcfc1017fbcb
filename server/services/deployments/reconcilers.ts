import type { Tx } from '@/db/client';
import type { BundleManifest } from '../bundles/manifest';

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
  afterCommit?(plan: ActivationPlan): Promise<void>;
};

/**
 * Scenario schedules and dataset watchers: the extension point for the scenarios release. Scenario
 * cells are carried verbatim in the manifest until their schema lands; this reconciler will create,
 * update and delete their Temporal Schedules (and watcher workflows) in `afterCommit`, keyed by
 * project and scenario so that re-running it converges.
 */
export const scenarioSchedules: DeploymentReconciler = {
  name: 'scenarioSchedules',
  reconcile: (_tx, plan) => Promise.resolve({ declared: plan.manifest.scenarios.length, scheduled: 0 }),
};

/** Reconcilers run after the endpoints, in this order. */
export const deploymentReconcilers: readonly DeploymentReconciler[] = [scenarioSchedules];
