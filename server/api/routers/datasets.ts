import { getDatasetProfile } from '../../services/datasets/dataset-profile';
import { listDatasetMetrics } from '../../services/datasets/dataset-metrics';
import { getDataset, listDatasets } from '../../services/datasets/list-datasets';
import { previewDataset } from '../../services/datasets/preview-dataset';
import { DatasetMetricsInput, DatasetRef, ListDatasetsInput, PreviewDatasetInput, SetColumnTypeInput } from '../../services/datasets/schemas';
import { setColumnType } from '../../services/datasets/set-column-type';
import { procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;

/** Uploads and row appends stream over REST (`/api/v1/projects/{projectId}/datasets...`). */
export const datasetsRouter = router({
  list: procedure.meta({ policy: read }).input(ListDatasetsInput).query(({ ctx, input }) => listDatasets({ ctx, input })),
  get: procedure.meta({ policy: read }).input(DatasetRef).query(({ ctx, input }) => getDataset({ ctx, input })),
  /** Metrics history (row count, per-column nulls, min/max/mean, distinct) after each build. */
  metrics: procedure.meta({ policy: read }).input(DatasetMetricsInput).query(({ ctx, input }) => listDatasetMetrics({ ctx, input })),
  /** Column profiles (nulls, distinct, min/max/mean, histogram or top values) as of the last load or build. */
  profile: procedure.meta({ policy: read }).input(DatasetRef).query(({ ctx, input }) => getDatasetProfile({ ctx, input })),
  preview: procedure.meta({ policy: read }).input(PreviewDatasetInput).query(({ ctx, input }) => previewDataset({ ctx, input })),
  setColumnType: procedure
    .meta({ policy: { kind: 'member', role: 'editor' } })
    .input(SetColumnTypeInput)
    .mutation(({ ctx, input }) => setColumnType({ ctx, input })),
});
