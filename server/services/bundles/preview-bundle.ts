import type { z } from 'zod';
import type { ServiceCtx } from '../context';
import type { CompileDiagnostic } from '../pipeline/compile-notebook';
import { diffManifests, type BundleDiff } from './bundle-diff';
import { activeBundleHash, bundleIfExists, bundleSummary, latestBundle, type BundleSummary } from './bundle-view';
import { collectBundle } from './collect-bundle';
import { buildConcern, lastDesignBuild, type LastBuild } from './last-build';
import { parseManifest } from './manifest';
import type { PreviewBundleInput } from './schemas';

export type BundlePreview = {
  /** The notebook compiles without errors. */
  compileOk: boolean;
  /** A bundle can be made (compiles, and every endpoint/train/score cell names a model with a version). */
  promotable: boolean;
  diagnostics: CompileDiagnostic[];
  graphHash: string;
  /** The hash promoting now would give; null when not promotable. */
  manifestHash: string | null;
  /** Promoting now returns this existing bundle (same content). */
  existing: BundleSummary | null;
  /** The project's last bundle, the diff's left side. */
  against: BundleSummary | null;
  /** Null when not promotable. */
  diff: BundleDiff | null;
  lastBuild: LastBuild;
  /** Why `confirmFailedBuild` is needed, or null. */
  buildConcern: string | null;
};

/** What promoting the notebook now would create, and how it differs from the last bundle. Changes nothing. */
export async function previewBundle({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof PreviewBundleInput> }): Promise<BundlePreview> {
  const collected = await collectBundle(ctx, input);
  const [last, lastBuild, active] = await Promise.all([
    latestBundle(ctx.db, input.projectId),
    lastDesignBuild(ctx.db, input.notebookId, collected.graphHash),
    activeBundleHash(ctx.db, input.projectId),
  ]);
  const against = last ? bundleSummary(last, active) : null;
  const base = { diagnostics: collected.diagnostics, graphHash: collected.graphHash, against, lastBuild, buildConcern: buildConcern(lastBuild, collected.buildSteps) };
  if (!collected.ok) return { ...base, compileOk: collected.compileOk, promotable: false, manifestHash: null, existing: null, diff: null };
  const same = await bundleIfExists(ctx.db, input.projectId, collected.hash);
  const existing = same ? bundleSummary(same, active) : null;
  return {
    ...base,
    compileOk: true,
    promotable: true,
    manifestHash: collected.hash,
    existing,
    diff: diffManifests(last ? parseManifest(last.manifest) : null, collected.manifest),
  };
}
