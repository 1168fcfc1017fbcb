import type { z } from 'zod';
import { bundles } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { preconditionFailed } from '../errors';
import { teamOfProject } from '../endpoints/find-endpoint';
import { activeBundleHash, bundleIfExists, bundleSummary, type BundleSummary } from './bundle-view';
import { collectBundle } from './collect-bundle';
import { buildConcern, lastDesignBuild } from './last-build';
import { manifestArtifacts } from './manifest';
import type { PromoteBundleInput } from './schemas';

export type PromoteResult = { bundle: BundleSummary; created: boolean };

/**
 * Compiles the notebook now and, when it compiles cleanly, seals it into an immutable bundle. The
 * same content gives the same hash: promoting it again returns the existing bundle (created false,
 * nothing written). Audited `bundle.promote` with the hash.
 */
export async function promoteBundle({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof PromoteBundleInput> }): Promise<PromoteResult> {
  const meta = auditMetaOf(ctx);
  const collected = await collectBundle(ctx, input);
  if (!collected.ok) {
    const errors = collected.diagnostics.filter((d) => d.severity === 'error');
    const first = errors
      .slice(0, 3)
      .map((d) => `cell ${d.cellId} line ${d.line}: ${d.message}`)
      .join('; ');
    throw preconditionFailed(`the notebook cannot be promoted (${errors.length} error${errors.length === 1 ? '' : 's'}): ${first}`, { diagnostics: collected.diagnostics });
  }
  const existing = await bundleIfExists(ctx.db, input.projectId, collected.hash);
  if (existing) return { bundle: bundleSummary(existing, await activeBundleHash(ctx.db, input.projectId)), created: false };

  const lastBuild = await lastDesignBuild(ctx.db, input.notebookId, collected.graphHash);
  const concern = buildConcern(lastBuild, collected.buildSteps);
  if (concern && !input.confirmFailedBuild) {
    throw preconditionFailed(`${concern}: build it first, or promote with confirmFailedBuild to promote anyway (recorded on the bundle and in the audit)`, { lastBuild });
  }
  const sizeBytes = Buffer.byteLength(collected.json) + manifestArtifacts(collected.manifest).reduce((n, a) => n + a.size, 0);

  const row = await ctx.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(bundles)
      .values({
        projectId: input.projectId,
        hash: collected.hash,
        manifest: collected.json,
        releaseNotes: input.releaseNotes,
        origin: 'promote',
        notebookId: input.notebookId,
        builtOverFailure: concern !== null,
        sizeBytes,
        createdBy: actorLabel(meta.actor).actorLabel,
      })
      .onConflictDoNothing()
      .returning();
    // A concurrent promotion of the same content won: that bundle is this one.
    if (!created) return null;
    await emitAudit(tx, meta, {
      action: 'bundle.promote',
      target: { type: 'bundle', id: created.hash },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: {
        bundleHash: created.hash,
        notebookId: input.notebookId,
        graphHash: collected.graphHash,
        models: collected.manifest.models.map((m) => ({ name: m.name, version: m.version, artifactSha256: m.artifact.sha256 })),
        endpoints: collected.manifest.endpoints.map((e) => e.name),
        lastBuild: lastBuild ? { runId: lastBuild.runId, status: lastBuild.status } : null,
        builtOverFailure: concern !== null,
        ...(concern ? { buildConcern: concern } : {}),
        sizeBytes,
      },
    });
    return created;
  });
  const final = row ?? (await bundleIfExists(ctx.db, input.projectId, collected.hash));
  if (!final) throw new Error('bundle vanished after a concurrent promotion');
  return { bundle: bundleSummary(final, await activeBundleHash(ctx.db, input.projectId)), created: row !== null };
}
