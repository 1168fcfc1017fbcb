import { desc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { bundles } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { activeBundleHash, bundleSummary, findBundle, type BundleDetail, type BundleSummary } from './bundle-view';
import { parseManifest } from './manifest';
import type { BundleRef, ListBundlesInput } from './schemas';

/** A project's bundles, newest first. */
export async function listBundles({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListBundlesInput> }): Promise<BundleSummary[]> {
  const rows = await ctx.db.select().from(bundles).where(eq(bundles.projectId, input.projectId)).orderBy(desc(bundles.createdAt)).limit(input.limit);
  const active = await activeBundleHash(ctx.db, input.projectId);
  return rows.map((r) => bundleSummary(r, active));
}

/** One bundle with its full manifest. */
export async function getBundle({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof BundleRef> }): Promise<BundleDetail> {
  const row = await findBundle(ctx.db, input.projectId, input.hash);
  return { ...bundleSummary(row, await activeBundleHash(ctx.db, input.projectId)), manifest: parseManifest(row.manifest) };
}
