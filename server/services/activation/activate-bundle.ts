import { and, eq, isNull, sql } from 'drizzle-orm';
import { deployments, type DeploymentKind } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { findBundle } from '../bundles/bundle-view';
import { parseManifest } from '../bundles/manifest';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { conflict } from '../errors';
import { teamOfProject } from '../endpoints/find-endpoint';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { deploymentReconcilers, type ActivationPlan } from './reconcilers';
import { reconcileEndpoints, resolveBundleVersions, type ActivationHooks, type EndpointChange } from '../deployments/reconcile-endpoints';
import { deploymentView, type DeploymentView } from '../deployments/deployment-view';

export type ActivationResult = {
  deployment: DeploymentView;
  /** False when the bundle was already active and production already matched it. */
  changed: boolean;
  endpoints: EndpointChange[];
  /**
   * Work done outside the database once the activation committed (Temporal Schedules and dataset
   * watchers). `failed` means the bundle IS active but that resource is stale: activating the
   * active bundle again retries it.
   */
  afterCommit: AfterCommitReport[];
};

export type AfterCommitReport = { name: string; status: 'ok' | 'skipped' | 'failed'; message?: string; details?: Record<string, unknown> };

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (err: unknown): boolean => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: unknown }).code === UNIQUE_VIOLATION) return true;
  return false;
};

/**
 * Activates a bundle in the project's production: endpoints, then every other reconciler, then the
 * deployment history, in ONE transaction with its audit event. A failure anywhere rolls all of it
 * back: the previous deployment stays fully active. The scoring caches switch on commit
 * (pg_notify), each request seeing either the old config or the new one, never a mix.
 * Idempotent: activating the active bundle again repairs any drift and records nothing new.
 * Activations of one project are serialised (advisory lock) so two deployers cannot interleave.
 */
export async function activateBundle(
  ctx: ServiceCtx,
  input: { projectId: string; bundleHash: string; kind: DeploymentKind; reason: string },
  hooks: ActivationHooks = {},
): Promise<ActivationResult> {
  const meta = auditMetaOf(ctx);
  const by = actorLabel(meta.actor).actorLabel;
  let plan: ActivationPlan | undefined;
  let result: Omit<ActivationResult, 'afterCommit'>;
  try {
    result = await ctx.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stagebook:deploy:${input.projectId}`}, 0))`);
      const bundle = await findBundle(tx, input.projectId, input.bundleHash);
      const manifest = parseManifest(bundle.manifest);
      const [active] = await tx
        .select()
        .from(deployments)
        .where(and(eq(deployments.projectId, input.projectId), eq(deployments.environment, 'production'), isNull(deployments.deactivatedAt)));
      const previous = active ? { bundleHash: active.bundleHash, manifest: parseManifest((await findBundle(tx, input.projectId, active.bundleHash)).manifest) } : null;
      plan = { projectId: input.projectId, bundleHash: bundle.hash, manifest, previous };

      const versions = await resolveBundleVersions(tx, input.projectId, manifest);
      const changes = await reconcileEndpoints(tx, { projectId: input.projectId, bundleHash: bundle.hash, manifest, versions, actorLabel: by }, hooks);
      const reconciled: Record<string, unknown> = {};
      for (const r of deploymentReconcilers) reconciled[r.name] = await r.reconcile(tx, plan);
      for (const c of changes) if (c.change !== 'unchanged') await notifyScoringChange(tx, { kind: 'endpoint', name: c.name });

      const drift = changes.some((c) => c.change !== 'unchanged');
      if (active && active.bundleHash === bundle.hash) {
        return { deployment: deploymentView(active, bundle.releaseNotes), changed: drift, endpoints: changes };
      }
      if (active) await tx.update(deployments).set({ deactivatedAt: sql`now()` }).where(eq(deployments.id, active.id));
      const [row] = await tx
        .insert(deployments)
        .values({ projectId: input.projectId, bundleHash: bundle.hash, environment: 'production', kind: input.kind, activatedBy: by, reason: input.reason })
        .returning();
      if (!row) throw new Error('deployment insert returned no row');
      await emitAudit(tx, meta, {
        action: input.kind === 'rollback' ? 'deployment.rollback' : 'deployment.activate',
        target: { type: 'deployment', id: row.id },
        teamId: await teamOfProject(tx, input.projectId),
        projectId: input.projectId,
        details: {
          bundleHash: bundle.hash,
          previousBundleHash: active?.bundleHash ?? null,
          environment: 'production',
          reason: input.reason,
          endpoints: changes,
          models: manifest.models.map((m) => ({ name: m.name, version: versions.get(m.name)!.version, artifactSha256: m.artifact.sha256 })),
          reconciled,
        },
      });
      return { deployment: deploymentView(row, bundle.releaseNotes), changed: true, endpoints: changes };
    });
  } catch (err) {
    // Another project took an endpoint name between our check and our insert.
    if (isUniqueViolation(err)) throw conflict('an endpoint name the bundle declares was just taken by another project; rename the endpoint cell', 'endpoints');
    throw err;
  }
  for (const c of result.endpoints) if (c.change !== 'unchanged') publishScoringChange(ctx.db, { kind: 'endpoint', name: c.name });
  const afterCommit: AfterCommitReport[] = [];
  for (const r of deploymentReconcilers) {
    if (!r.afterCommit || !plan) continue;
    try {
      afterCommit.push({ name: r.name, ...(await r.afterCommit(plan, ctx)) });
    } catch (err) {
      // The activation is committed: report the stale resource instead of failing the request.
      console.error(`deployment of ${input.bundleHash.slice(0, 12)} to project ${input.projectId}: ${r.name} failed after commit`, err);
      afterCommit.push({ name: r.name, status: 'failed', message: `${err instanceof Error ? err.message : String(err)}; the bundle is active: deploy it again to retry` });
    }
  }
  return { ...result, afterCommit };
}
