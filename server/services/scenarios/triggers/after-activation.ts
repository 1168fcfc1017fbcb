import { eq, sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { scenarios as scenariosTable } from '@/db/schema';
import { activeBundleHash, findBundle } from '../../bundles/bundle-view';
import { parseManifest } from '../../bundles/manifest';
import type { BundleManifest } from '../../bundles/manifest';
import type { ServiceCtx } from '../../context';
import type { ActivationPlan, AfterCommitOutcome } from '../../deployments/reconciler-types';
import { desiredTriggers, scenariosOfManifest, type DeployedScenario } from './declared-triggers';

type BundleRef = { bundleHash: string; manifest: BundleManifest };

/**
 * The `afterCommit` of the scenarioSchedules reconciler: once an activation (deploy, rollback, or
 * the active bundle again) has committed, make the project's Temporal Schedules and watchers match
 * the bundle active now. It runs after commit because Temporal is not in the transaction; if it
 * fails, the deployment stays active with stale triggers, the deploy answer says so, and
 * re-activating the active bundle (idempotent) repairs them.
 */
export function syncTriggersAfterActivation(plan: ActivationPlan, ctx: ServiceCtx): Promise<AfterCommitOutcome> {
  return syncProjectTriggers(ctx, plan.projectId, { activated: plan, previous: plan.previous });
}

/**
 * Makes the project's Schedules and watchers match the bundle active now and the scenarios'
 * enabled flags (after an activation, or after a scenario was enabled or disabled).
 *
 * Two activations of a project commit one after the other (advisory lock), but their after-commit
 * work would race: each sync holds a per-project lock of its own and syncs to the bundle active
 * when it got the lock, so the last sync always leaves the last committed state's triggers.
 */
export async function syncProjectTriggers(ctx: ServiceCtx, projectId: string, hint: { activated?: BundleRef; previous?: BundleRef | null } = {}): Promise<AfterCommitOutcome> {
  const workflows = ctx.workflows;
  return ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stagebook:triggers:${projectId}`}, 0))`);
    const activeHash = await activeBundleHash(tx, projectId);
    if (!activeHash) return { status: 'skipped' as const, message: 'no bundle is deployed' };
    // A later activation committed meanwhile: converge on it (its own sync will find nothing to do).
    const active: BundleRef =
      hint.activated?.bundleHash === activeHash ? hint.activated : { bundleHash: activeHash, manifest: parseManifest((await findBundle(tx, projectId, activeHash)).manifest) };
    const { scenarios: declared, problems } = scenariosOfManifest(active.manifest, active.bundleHash);
    const scenarios = await withEnabledFlags(tx, projectId, declared);
    const others = [hint.previous ?? null, hint.activated && hint.activated !== active ? hint.activated : null];
    const previous = others.flatMap((p) => (p ? scenariosOfManifest(p.manifest, p.bundleHash).scenarios : []));
    const wanted = desiredTriggers(projectId, scenarios);
    const hadBefore = desiredTriggers(projectId, previous);
    const declares = wanted.schedules.length + wanted.watchers.length + hadBefore.schedules.length + hadBefore.watchers.length > 0;
    if (!workflows) {
      if (!declares) return { status: 'skipped' as const, message: 'no schedule or dataset_change triggers' };
      throw new Error('this server cannot reach Temporal, so the Schedules and dataset watchers were not synced');
    }
    const report = await workflows.syncScenarioTriggers({ projectId, scenarios, previous });
    const count = (...changes: string[]) => report.changes.filter((c) => changes.includes(c.change)).length;
    const paused = wanted.schedules.filter((s) => s.paused).length;
    return {
      status: 'ok' as const,
      message: `${wanted.schedules.length} schedule(s)${paused ? ` (${paused} paused: scenario disabled)` : ''}, ${wanted.watchers.length} dataset watcher(s): ${count('create')} created, ${count('update', 'pause', 'resume')} updated, ${count('delete')} removed, ${count('unchanged')} unchanged`,
      details: { bundleHash: active.bundleHash, changes: report.changes, ...(problems.length ? { problems } : {}) },
    };
  });
}

/** The enabled flag of each deployed scenario (table `scenarios`, kept across deploys). */
async function withEnabledFlags(tx: Tx, projectId: string, declared: DeployedScenario[]): Promise<DeployedScenario[]> {
  const rows = await tx.select({ name: scenariosTable.name, enabled: scenariosTable.enabled }).from(scenariosTable).where(eq(scenariosTable.projectId, projectId));
  const enabled = new Map(rows.map((r) => [r.name, r.enabled]));
  return declared.map((s) => ({ ...s, enabled: enabled.get(s.name) ?? true }));
}
