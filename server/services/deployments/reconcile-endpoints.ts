import { and, asc, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { endpoints, models, modelVersions } from '@/db/schema';
import type { BundleManifest, ManifestModel } from '../bundles/manifest';
import { conflict, preconditionFailed } from '../errors';

export type EndpointChange = { name: string; change: 'create' | 'update' | 'delete' | 'unchanged'; model: string | null; version: number | null };

/** Test-only: called after each endpoint is written, to inject a failure midway through an activation. */
export type ActivationHooks = { afterEndpointChange?: (name: string) => Promise<void> | void };

type ResolvedVersion = { modelId: string; versionId: string; version: number };

/**
 * The project's version of each model the bundle uses: the one holding the bundle's artifact (by
 * sha256; the bundle's own version number first, since numbers differ between instances).
 */
export async function resolveBundleVersions(tx: Tx, projectId: string, manifest: BundleManifest): Promise<Map<string, ResolvedVersion>> {
  const out = new Map<string, ResolvedVersion>();
  for (const m of manifest.models) out.set(m.name, await resolveVersion(tx, projectId, m));
  return out;
}

async function resolveVersion(tx: Tx, projectId: string, m: ManifestModel): Promise<ResolvedVersion> {
  const rows = await tx
    .select({ modelId: models.id, versionId: modelVersions.id, version: modelVersions.version })
    .from(models)
    .innerJoin(modelVersions, eq(modelVersions.modelId, models.id))
    .where(and(eq(models.projectId, projectId), eq(models.name, m.name), eq(modelVersions.artifactSha256, m.artifact.sha256)))
    .orderBy(asc(modelVersions.version));
  const pick = rows.find((r) => r.version === m.version) ?? rows[0];
  if (!pick) throw preconditionFailed(`model "${m.name}" has no version with the bundle's artifact ${m.artifact.sha256.slice(0, 12)}: import the bundle again to restore it`);
  return pick;
}

/**
 * Makes the project's production endpoints exactly those the bundle declares, each pinned to the
 * bundle's model version and stamped with its hash; production endpoints it no longer declares
 * are removed. Design endpoints (no bundle hash) of the project are taken over when the bundle
 * declares their name. A name held by another project is a 409: endpoint names are the URL.
 * Runs inside the activation's transaction; the caller notifies the scoring caches.
 */
export async function reconcileEndpoints(
  tx: Tx,
  input: { projectId: string; bundleHash: string; manifest: BundleManifest; versions: Map<string, ResolvedVersion>; actorLabel: string },
  hooks: ActivationHooks = {},
): Promise<EndpointChange[]> {
  const declared = input.manifest.endpoints;
  const names = declared.map((e) => e.name);
  const current = await tx
    .select()
    .from(endpoints)
    .where(or(and(eq(endpoints.projectId, input.projectId), isNotNull(endpoints.bundleHash)), names.length ? inArray(endpoints.name, names) : sql`false`))
    .orderBy(asc(endpoints.name))
    .for('update');
  const byName = new Map(current.map((e) => [e.name, e]));
  const changes: EndpointChange[] = [];

  for (const e of declared) {
    const v = input.versions.get(e.model);
    if (!v) throw new Error(`bundle manifest names model "${e.model}" for endpoint "${e.name}" but does not list it`);
    const existing = byName.get(e.name);
    if (existing && existing.projectId !== input.projectId) {
      throw conflict(`the endpoint name "${e.name}" is taken by another project on this Stagebook (endpoint names are unique: they are the URL); rename the endpoint cell`, 'endpoints');
    }
    if (!existing) {
      await tx.insert(endpoints).values({
        projectId: input.projectId,
        name: e.name,
        modelId: v.modelId,
        pinnedVersionId: v.versionId,
        description: e.description,
        threshold: e.threshold ?? null,
        bundleHash: input.bundleHash,
        createdBy: input.actorLabel,
      });
      changes.push({ name: e.name, change: 'create', model: e.model, version: v.version });
    } else {
      const same = existing.modelId === v.modelId && existing.pinnedVersionId === v.versionId && existing.description === e.description && existing.threshold === (e.threshold ?? null) && existing.bundleHash === input.bundleHash;
      if (!same) {
        await tx
          .update(endpoints)
          // A deployment ends any shadow (an operator's, or a retrain's: its gate then keeps the champion).
          .set({ modelId: v.modelId, pinnedVersionId: v.versionId, shadowVersionId: null, description: e.description, threshold: e.threshold ?? null, bundleHash: input.bundleHash, updatedAt: sql`now()` })
          .where(eq(endpoints.id, existing.id));
      }
      changes.push({ name: e.name, change: same ? 'unchanged' : 'update', model: e.model, version: v.version });
    }
    await hooks.afterEndpointChange?.(e.name);
  }

  const keep = new Set(names);
  for (const e of current) {
    if (e.projectId !== input.projectId || keep.has(e.name) || e.bundleHash === null) continue;
    await tx.delete(endpoints).where(eq(endpoints.id, e.id));
    changes.push({ name: e.name, change: 'delete', model: null, version: null });
    await hooks.afterEndpointChange?.(e.name);
  }
  return changes;
}
