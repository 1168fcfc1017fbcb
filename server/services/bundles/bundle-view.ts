import { and, desc, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { bundles, deployments, type BundleOrigin } from '@/db/schema';
import { notFound } from '../errors';
import { parseManifest, type BundleManifest } from './manifest';

export type BundleRow = typeof bundles.$inferSelect;

export type BundleSummary = {
  hash: string;
  projectId: string;
  origin: BundleOrigin;
  notebookId: string | null;
  releaseNotes: string;
  builtOverFailure: boolean;
  sizeBytes: number;
  createdBy: string;
  createdAt: string;
  graphHash: string;
  models: { name: string; version: number; artifactSha256: string }[];
  endpoints: { name: string; model: string }[];
  cellCount: number;
  scenarioCount: number;
  /** Active in production now. */
  active: boolean;
};
export type BundleDetail = BundleSummary & { manifest: BundleManifest };

export function bundleSummary(row: BundleRow, activeHash: string | null): BundleSummary {
  const m = parseManifest(row.manifest);
  return {
    hash: row.hash,
    projectId: row.projectId,
    origin: row.origin,
    notebookId: row.notebookId,
    releaseNotes: row.releaseNotes,
    builtOverFailure: row.builtOverFailure,
    sizeBytes: row.sizeBytes,
    createdBy: row.createdBy,
    createdAt: new Date(row.createdAt).toISOString(),
    graphHash: m.graph.hash,
    models: m.models.map((x) => ({ name: x.name, version: x.version, artifactSha256: x.artifact.sha256 })),
    endpoints: m.endpoints.map((e) => ({ name: e.name, model: e.model })),
    cellCount: m.cells.length,
    scenarioCount: m.scenarios.length,
    active: row.hash === activeHash,
  };
}

export async function bundleIfExists(db: DbOrTx, projectId: string, hash: string): Promise<BundleRow | null> {
  const [row] = await db
    .select()
    .from(bundles)
    .where(and(eq(bundles.projectId, projectId), eq(bundles.hash, hash)));
  return row ?? null;
}

export async function findBundle(db: DbOrTx, projectId: string, hash: string): Promise<BundleRow> {
  const row = await bundleIfExists(db, projectId, hash);
  if (!row) throw notFound(`bundle ${hash.slice(0, 12)}`);
  return row;
}

export async function latestBundle(db: DbOrTx, projectId: string): Promise<BundleRow | null> {
  const [row] = await db.select().from(bundles).where(eq(bundles.projectId, projectId)).orderBy(desc(bundles.createdAt)).limit(1);
  return row ?? null;
}

/** The hash of the bundle active in the project's production, or null. */
export async function activeBundleHash(db: DbOrTx, projectId: string): Promise<string | null> {
  const [row] = await db
    .select({ hash: deployments.bundleHash })
    .from(deployments)
    .where(and(eq(deployments.projectId, projectId), eq(deployments.environment, 'production'), isNull(deployments.deactivatedAt)));
  return row?.hash ?? null;
}
