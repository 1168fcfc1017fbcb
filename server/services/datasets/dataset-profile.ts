import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { z } from 'zod';
import { datasetMetrics, type DatasetColumnMetrics, type DatasetColumnSpec, type Environment } from '@/db/schema';
import type { ServiceCtx } from '../context';
import type { ColumnProfile } from '../notebooks/output-types';
import { profileRelation } from './column-profile';
import { findDataset } from './find-dataset';
import type { DatasetRef } from './schemas';
import { ident, schemaNameOf, withDataTransaction } from './storage';

/** Profiles a dataset's table with the same SQL as a cell's result (upload, publish, on demand). */
export async function profileTable(
  query: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
  scope: { projectId: string; environment: Environment; table: string },
  columns: DatasetColumnSpec[],
  knownRows?: number,
): Promise<ColumnProfile[]> {
  const table = `${ident(schemaNameOf(scope.projectId, scope.environment))}.${ident(scope.table)}`;
  const { profile } = await profileRelation(
    async (prefix, suffix, params) => ({ rows: await query(`${prefix}SELECT * FROM ${table}${suffix}`, params) }),
    columns.map((c) => ({ name: c.name, type: c.type })),
    knownRows === undefined ? {} : { knownRows },
  );
  return profile;
}

/**
 * The dataset's column profiles as stored with its latest metrics (computed at each upload and
 * publish); a dataset stored before profiles existed, or appended to since, is profiled now (not
 * stored: its next load or build stores one).
 */
export async function getDatasetProfile({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof DatasetRef> }): Promise<{ profile: ColumnProfile[]; computedAt: string }> {
  const dataset = await findDataset(ctx.db, input);
  const [stored] = await ctx.db
    .select({ profile: datasetMetrics.profile, at: datasetMetrics.at })
    .from(datasetMetrics)
    .where(and(eq(datasetMetrics.datasetId, dataset.id), isNotNull(datasetMetrics.profile)))
    .orderBy(desc(datasetMetrics.at), desc(datasetMetrics.id))
    .limit(1);
  // Appends change the data without a new profile (re-profiling per ingested batch would cost a full
  // scan each): a profile older than the data is recomputed here.
  if (stored?.profile && new Date(stored.at).getTime() >= new Date(dataset.updatedAt).getTime()) return { profile: stored.profile as unknown as ColumnProfile[], computedAt: new Date(stored.at).toISOString() };
  const profile = await withDataTransaction(ctx.db, async (s) => {
    await s.query(`SET LOCAL timezone = 'UTC'`);
    return profileTable(s.query, { projectId: input.projectId, environment: input.environment, table: dataset.name }, dataset.columns, Number(dataset.rowCount));
  });
  return { profile, computedAt: new Date().toISOString() };
}

/** The metrics history's per-column numbers, read off a profile (no second pass over the table). */
export function metricsOfProfile(profile: ColumnProfile[]): DatasetColumnMetrics[] {
  return profile.map((p) => {
    const m: DatasetColumnMetrics = { name: p.name, nullCount: p.nullCount, distinctCount: p.distinctCount };
    if (p.type === 'integer' || p.type === 'numeric' || p.type === 'timestamp') {
      m.min = p.min;
      m.max = p.max;
    }
    if (p.type === 'integer' || p.type === 'numeric') m.mean = p.mean;
    return m;
  });
}
