import { and, desc, eq, isNotNull, ne } from 'drizzle-orm';
import type { z } from 'zod';
import { bundles, deployments } from '@/db/schema';
import { activeBundleHash } from '../bundles/bundle-view';
import type { ServiceCtx } from '../context';
import { preconditionFailed } from '../errors';
import { activateBundle, type ActivationResult } from './activate-bundle';
import { deploymentView, type DeploymentView } from '../deployments/deployment-view';
import type { ActivationHooks } from '../deployments/reconcile-endpoints';
import type { DeployBundleInput, ListDeploymentsInput, RollbackInput } from '../deployments/schemas';

/** Deploys a bundle to the project's production. Deployers; audited `deployment.activate`. */
export function deployBundle({ ctx, input, hooks }: { ctx: ServiceCtx; input: z.output<typeof DeployBundleInput>; hooks?: ActivationHooks }): Promise<ActivationResult> {
  return activateBundle(ctx, { projectId: input.projectId, bundleHash: input.bundleHash, kind: 'deploy', reason: input.reason }, hooks);
}

/**
 * Re-activates an earlier bundle exactly as a deploy does (its model versions are still in the
 * registry, so it is immediate). Without a hash: the bundle active before the current one.
 * Audited `deployment.rollback`.
 */
export async function rollbackDeployment({ ctx, input, hooks }: { ctx: ServiceCtx; input: z.output<typeof RollbackInput>; hooks?: ActivationHooks }): Promise<ActivationResult> {
  let target = input.bundleHash;
  if (!target) {
    const current = await activeBundleHash(ctx.db, input.projectId);
    if (!current) throw preconditionFailed('nothing is deployed in production: there is nothing to roll back');
    const [before] = await ctx.db
      .select({ hash: deployments.bundleHash })
      .from(deployments)
      .where(and(eq(deployments.projectId, input.projectId), isNotNull(deployments.deactivatedAt), ne(deployments.bundleHash, current)))
      .orderBy(desc(deployments.activatedAt))
      .limit(1);
    if (!before) throw preconditionFailed('no earlier bundle was ever deployed in production: there is nothing to roll back to');
    target = before.hash;
  } else {
    const [wasDeployed] = await ctx.db
      .select({ id: deployments.id })
      .from(deployments)
      .where(and(eq(deployments.projectId, input.projectId), eq(deployments.bundleHash, target)))
      .limit(1);
    if (!wasDeployed) throw preconditionFailed(`bundle ${target.slice(0, 12)} was never deployed: deploy it instead of rolling back to it`);
  }
  return activateBundle(ctx, { projectId: input.projectId, bundleHash: target, kind: 'rollback', reason: input.reason }, hooks);
}

/** The project's deployment history, newest first: which bundle was active when, who and why. */
export async function listDeployments({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListDeploymentsInput> }): Promise<DeploymentView[]> {
  const rows = await ctx.db
    .select({ d: deployments, releaseNotes: bundles.releaseNotes })
    .from(deployments)
    .innerJoin(bundles, and(eq(bundles.projectId, deployments.projectId), eq(bundles.hash, deployments.bundleHash)))
    .where(eq(deployments.projectId, input.projectId))
    .orderBy(desc(deployments.activatedAt))
    .limit(input.limit);
  return rows.map((r) => deploymentView(r.d, r.releaseNotes));
}
