import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { endpoints, models, modelVersions, projects } from '@/db/schema';
import { conflict, notFound } from '../errors';
import { endpointView, type EndpointView } from '../models/model-view';

export async function findEndpoint(db: DbOrTx, ref: { projectId: string; name: string }, opts: { forUpdate?: boolean } = {}) {
  const q = db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.projectId, ref.projectId), eq(endpoints.name, ref.name)));
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  if (!row) throw notFound(`endpoint "${ref.name}"`);
  return row;
}

/** Production endpoints belong to the deployed bundle: only a deployment or a rollback changes them. */
export function refuseIfDeployed(row: typeof endpoints.$inferSelect): void {
  if (row.bundleHash) throw conflict(`endpoint "${row.name}" is served by the deployed bundle ${row.bundleHash.slice(0, 12)}: change its endpoint cell and deploy, or roll back`, 'name');
}

/** Views of endpoint rows with their model's name, pinned, champion and shadow version numbers. */
export async function endpointViews(db: DbOrTx, rows: (typeof endpoints.$inferSelect)[]): Promise<EndpointView[]> {
  if (rows.length === 0) return [];
  const ms = await db
    .select()
    .from(models)
    .where(inArray(
      models.id,
      rows.map((e) => e.modelId),
    ));
  const versionIds = [...rows.map((e) => e.pinnedVersionId), ...rows.map((e) => e.shadowVersionId), ...ms.map((m) => m.championVersionId)].filter((id): id is string => id !== null);
  const vs = versionIds.length ? await db.select({ id: modelVersions.id, version: modelVersions.version }).from(modelVersions).where(inArray(modelVersions.id, versionIds)) : [];
  const modelOf = new Map(ms.map((m) => [m.id, m]));
  const versionOf = new Map(vs.map((v) => [v.id, v.version]));
  return rows.map((e) => {
    const m = modelOf.get(e.modelId)!;
    const numberOf = (id: string | null) => (id ? (versionOf.get(id) ?? null) : null);
    return endpointView(e, m.name, numberOf(e.pinnedVersionId), numberOf(m.championVersionId), numberOf(e.shadowVersionId));
  });
}

/** The team of a project, for audit rows. */
export async function teamOfProject(tx: DbOrTx, projectId: string): Promise<string | null> {
  const [p] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, projectId));
  return p?.teamId ?? null;
}
