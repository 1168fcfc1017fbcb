import { desc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { datasetMetrics, type DatasetColumnMetrics } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { findDataset } from './find-dataset';
import type { DatasetMetricsInput } from './schemas';

export type DatasetMetricsPoint = { runId: string | null; at: string; rowCount: number; columns: DatasetColumnMetrics[] };

/** A dataset's metrics after each build that published it, oldest first (the last `limit`). */
export async function listDatasetMetrics({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof DatasetMetricsInput> }): Promise<DatasetMetricsPoint[]> {
  const dataset = await findDataset(ctx.db, input);
  const rows = await ctx.db
    .select()
    .from(datasetMetrics)
    .where(eq(datasetMetrics.datasetId, dataset.id))
    .orderBy(desc(datasetMetrics.at), desc(datasetMetrics.id))
    .limit(input.limit);
  return rows
    .reverse()
    .map((r) => ({ runId: r.runId, at: new Date(r.at).toISOString(), rowCount: Number(r.rowCount), columns: r.columns }));
}
