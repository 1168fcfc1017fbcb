import { inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { artifacts } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { writeArchive, ARCHIVE_FORMAT } from './archive';
import { findBundle } from './bundle-view';
import { manifestArtifacts, parseManifest, sha256Hex } from './manifest';
import type { BundleRef } from './schemas';

/** The bundle as one gzipped tar (archive.ts), ready to import into another Stagebook. */
export async function exportBundle({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof BundleRef> }): Promise<{ filename: string; bytes: Buffer }> {
  const row = await findBundle(ctx.db, input.projectId, input.hash);
  const refs = manifestArtifacts(parseManifest(row.manifest));
  const stored = refs.length
    ? await ctx.db.select({ sha256: artifacts.sha256, content: artifacts.content }).from(artifacts).where(inArray(artifacts.sha256, refs.map((a) => a.sha256)))
    : [];
  const bytesOf = new Map(stored.map((a) => [a.sha256, a.content]));
  for (const a of refs) if (!bytesOf.has(a.sha256)) throw new Error(`artifact ${a.sha256} of bundle ${row.hash} is missing`);
  const bytes = await writeArchive({
    index: {
      format: ARCHIVE_FORMAT,
      manifestSha256: sha256Hex(row.manifest),
      manifestSize: Buffer.byteLength(row.manifest),
      artifacts: refs,
      releaseNotes: row.releaseNotes,
      builtOverFailure: row.builtOverFailure,
      createdBy: row.createdBy,
      createdAt: new Date(row.createdAt).toISOString(),
    },
    manifest: row.manifest,
    artifacts: bytesOf,
  });
  return { filename: `bundle-${row.hash.slice(0, 12)}.sbundle.tgz`, bytes };
}
