import { sql } from 'drizzle-orm';
import { activeBundleHash, findBundle } from '../../bundles/bundle-view';
import { parseManifest } from '../../bundles/manifest';
import type { ServiceCtx } from '../../context';
import type { ActivationPlan, AfterCommitOutcome } from '../../deployments/reconciler-types';
import { desiredTriggers, scenariosOfManifest } from './declared-triggers';

/**
 * The `afterCommit` of the scenarioSchedules reconciler: once an activation (deploy, rollback, or
 * the active bundle again) has committed, make the project's Temporal Schedules and watchers match
 * the bundle active now. It runs after commit because Temporal is not in the transaction; if it
 * fails, the deployment stays active with stale triggers, the deploy answer says so, and
 * re-activating the active bundle (idempotent) repairs them.
 *
 * Two activations of a project commit one after the other (advisory lock), but their after-commit
 * work would race: each sync holds a per-project lock of its own and syncs to the bundle active
 * when it got the lock, so the last sync always leaves the last committed bundle's triggers.
 */
export async function syncTriggersAfterActivation(plan: ActivationPlan, ctx: ServiceCtx): Promise<AfterCommitOutcome> {
  const workflows = ctx.workflows;
  return ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stagebook:triggers:${plan.projectId}`}, 0))`);
    const activeHash = await activeBundleHash(tx, plan.projectId);
    // A later activation committed meanwhile: converge on it (its own sync will find nothing to do).
    const active =
      activeHash && activeHash !== plan.bundleHash ? { bundleHash: activeHash, manifest: parseManifest((await findBundle(tx, plan.projectId, activeHash)).manifest) } : plan;
    const { scenarios, problems } = scenariosOfManifest(active.manifest, active.bundleHash);
    const previous = [plan.previous, active === plan ? null : plan].flatMap((p) => (p ? scenariosOfManifest(p.manifest, p.bundleHash).scenarios : []));
    const wanted = desiredTriggers(plan.projectId, scenarios);
    const hadBefore = desiredTriggers(plan.projectId, previous);
    const declares = wanted.schedules.length + wanted.watchers.length + hadBefore.schedules.length + hadBefore.watchers.length > 0;
    if (!workflows) {
      if (!declares) return { status: 'skipped' as const, message: 'no schedule or dataset_change triggers' };
      throw new Error('this server cannot reach Temporal, so the Schedules and dataset watchers were not synced');
    }
    const report = await workflows.syncScenarioTriggers({ projectId: plan.projectId, scenarios, previous });
    const count = (change: string) => report.changes.filter((c) => c.change === change).length;
    return {
      status: 'ok' as const,
      message: `${wanted.schedules.length} schedule(s), ${wanted.watchers.length} dataset watcher(s): ${count('create')} created, ${count('update')} updated, ${count('delete')} removed, ${count('unchanged')} unchanged`,
      details: { bundleHash: active.bundleHash, changes: report.changes, ...(problems.length ? { problems } : {}) },
    };
  });
}
