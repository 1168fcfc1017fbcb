import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { datasets } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { datasetView, type DatasetView } from './dataset-view';
import { findDataset } from './find-dataset';
import type { DatasetRef, ListDatasetsInput } from './schemas';

export async function listDatasets({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListDatasetsInput> }): Promise<DatasetView[]> {
  const rows = await ctx.db
    .select()
    .from(datasets)
    .where(and(eq(datasets.projectId, input.projectId), eq(datasets.environment, input.environment)))
    .orderBy(asc(datasets.name));
  return rows.map(datasetView);
}

export async function getDataset({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof DatasetRef> }): Promise<DatasetView> {
  return datasetView(await findDataset(ctx.db, input));
}
