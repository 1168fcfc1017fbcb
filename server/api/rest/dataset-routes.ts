import { z } from 'zod';
import { appendRows } from '../../services/datasets/append-rows';
import { AppendRowsBody, DatasetName, EnvironmentSchema, UploadDatasetQuery } from '../../services/datasets/schemas';
import { uploadDataset } from '../../services/datasets/upload-dataset';
import { Uuid } from '../../services/teams/schemas';
import { defineRoute, type RestRoute } from './route';

const Column = z.object({ name: z.string(), type: z.enum(['integer', 'numeric', 'boolean', 'timestamp', 'text']), nullable: z.boolean() });
const Dataset = z.object({
  id: z.string(),
  projectId: z.string(),
  environment: z.enum(['design', 'production']),
  name: z.string(),
  kind: z.enum(['source', 'built']),
  columns: z.array(Column),
  rowCount: z.number(),
  fingerprint: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** An API key loads a dataset only with `ingest:<that dataset>`; team editors load any. */
const ingestPolicy = { kind: 'member', role: 'editor', scope: (input: Record<string, unknown>) => `ingest:${String(input.name)}` } as const;

export const datasetRoutes: RestRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/datasets',
    operationId: 'uploadDataset',
    summary: 'Upload a CSV as a source dataset (creates it, or replaces its data atomically)',
    tags: ['datasets'],
    policy: ingestPolicy,
    params: z.object({ projectId: Uuid('projectId') }),
    query: UploadDatasetQuery,
    rawBody: {
      contentTypes: ['text/csv'],
      description:
        'The CSV file, streamed. The first line names the columns; `NA` and empty fields are NULL. Column types are inferred from the first 20,000 rows unless given in `types`. A malformed file is refused with the line and column of the first problem, and the previous data stays.',
    },
    response: z.object({ dataset: Dataset, rows: z.number(), bytes: z.number(), created: z.boolean() }),
    handler: ({ ctx, params, query, raw }) => uploadDataset({ ctx, input: { ...query, projectId: params.projectId }, csv: raw! }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/datasets/{name}/rows',
    operationId: 'appendDatasetRows',
    summary: 'Append rows to a source dataset: all or nothing, validated against its columns',
    tags: ['datasets'],
    policy: ingestPolicy,
    params: z.object({ projectId: Uuid('projectId'), name: DatasetName }),
    query: z.object({ environment: EnvironmentSchema.default('design') }),
    body: AppendRowsBody,
    response: z.object({ appended: z.number(), rowCount: z.number(), fingerprint: z.string() }),
    handler: ({ ctx, params, query, body }) => appendRows({ ctx, input: { ...params, environment: query.environment, rows: body.rows } }),
  }),
];
