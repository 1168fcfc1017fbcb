import type { Tx } from '@/db/client';
import type { BundleManifest } from '../bundles/manifest';
import type { ServiceCtx } from '../context';

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
