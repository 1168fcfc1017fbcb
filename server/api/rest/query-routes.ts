import { z } from 'zod';
import { downloadDatasetCsv } from '../../services/datasets/download-dataset';
import { ProjectQueryBody } from '../../services/datasets/query-schemas';
import { runProjectQuery } from '../../services/datasets/run-query';
import { DatasetName, EnvironmentSchema } from '../../services/datasets/schemas';
import { downloadCellResult } from '../../services/notebooks/download-result';
import { CellIdSchema, CellRowsInput } from '../../services/notebooks/output-schemas';
import { streamCellRows } from '../../services/notebooks/stream-rows';
import { Uuid } from '../../services/teams/schemas';
import { defineRoute, type RestRoute } from './route';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
const ColumnType = z.enum(['integer', 'numeric', 'boolean', 'timestamp', 'text']);

/** Reading a project's data over REST: scratch queries and CSV downloads (scope `read`). */
export const queryRoutes: RestRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/query',
    operationId: 'runQuery',
    summary:
      "Run one SELECT over the project's datasets (design, or production with ?environment=production) in the same sandbox as notebook cells: the project's role, its schema only, a 30 s statement timeout. Rows are arrays in column order; timestamps ISO strings (UTC); `truncated` when the result had more than `limit` rows.",
    tags: ['datasets'],
    policy: read,
    params: z.object({ projectId: Uuid('projectId') }),
    query: z.object({ environment: EnvironmentSchema.default('design') }),
    body: ProjectQueryBody,
    response: z.object({
      columns: z.array(z.object({ name: z.string(), type: ColumnType })),
      rows: z.array(z.array(z.unknown())),
      truncated: z.boolean(),
      elapsedMs: z.number(),
    }),
    handler: ({ ctx, params, query, body }) => runProjectQuery({ ctx, input: { ...body, projectId: params.projectId, environment: query.environment } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/notebooks/{notebookId}/cells/{cellId}/result.csv',
    operationId: 'downloadCellResult',
    summary: "A notebook cell's full result (its current source on the design data) as CSV with a header line, streamed. Audited.",
    tags: ['notebooks'],
    policy: read,
    params: z.object({ projectId: Uuid('projectId'), notebookId: Uuid('notebookId'), cellId: CellIdSchema }),
    response: z.string(),
    rawResponse: { contentType: 'text/csv; charset=utf-8', description: 'CSV (RFC 4180), NULL as an empty field', attachment: (p) => `cell-${p.cellId ?? 'result'}.csv` },
    handler: ({ ctx, params }) => downloadCellResult({ ctx, input: params }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/notebooks/{notebookId}/cells/{cellId}/rows',
    operationId: 'streamCellRows',
    summary:
      "Up to `limit` (at most 100,000) rows of a SQL cell's full result (its current source on the design data) as NDJSON, streamed from a cursor: a `{\"columns\"}` line, one JSON array per row (values as in previews), then `{\"done\":true,\"rows\":n}` or `{\"error\"}`. With `outputId`, 409 when the cell changed since that output. What the notebook's grid shows for Show all.",
    tags: ['notebooks'],
    policy: read,
    params: z.object({ projectId: Uuid('projectId'), notebookId: Uuid('notebookId'), cellId: CellIdSchema }),
    query: CellRowsInput.pick({ limit: true, outputId: true }),
    response: z.string(),
    rawResponse: { contentType: 'application/x-ndjson; charset=utf-8', description: 'NDJSON: columns, rows, then done or error' },
    handler: ({ ctx, params, query }) => streamCellRows({ ctx, input: { ...params, ...query } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/datasets/{name}/rows.csv',
    operationId: 'downloadDataset',
    summary: "A dataset's rows as CSV with a header line, streamed (design, or production with ?environment=production). Audited.",
    tags: ['datasets'],
    policy: read,
    params: z.object({ projectId: Uuid('projectId'), name: DatasetName }),
    query: z.object({ environment: EnvironmentSchema.default('design') }),
    response: z.string(),
    rawResponse: { contentType: 'text/csv; charset=utf-8', description: 'CSV (RFC 4180), NULL as an empty field', attachment: (p) => `${p.name ?? 'dataset'}.csv` },
    handler: ({ ctx, params, query }) => downloadDatasetCsv({ ctx, input: { ...params, environment: query.environment } }),
  }),
];
