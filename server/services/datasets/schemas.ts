import { z } from 'zod';
import { datasetColumnTypes, environments } from '@/db/schema';
import { Uuid } from '../teams/schemas';
import { CSV_ENCODINGS } from './csv-encoding';

export const DatasetName = z
  .string({ error: 'name is required' })
  .regex(/^[a-z][a-z0-9_]{0,62}$/, { error: 'name must be a lowercase identifier (a-z, 0-9, _; starting with a letter; at most 63 characters)' });
export const EnvironmentSchema = z.enum(environments, { error: `environment must be one of ${environments.join(', ')}` });
export const ColumnTypeSchema = z.enum(datasetColumnTypes, { error: `type must be one of ${datasetColumnTypes.join(', ')}` });

export const DatasetRef = z.object({ projectId: Uuid('projectId'), name: DatasetName, environment: EnvironmentSchema.default('design') });
export const ListDatasetsInput = z.object({ projectId: Uuid('projectId'), environment: EnvironmentSchema.default('design') });
export const PreviewDatasetInput = DatasetRef.extend({
  offset: z.coerce.number({ error: 'offset must be a number' }).int().min(0, 'offset must be at least 0').default(0),
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, 'limit must be at least 1').max(500, 'limit must be at most 500').default(50),
});
export const SetColumnTypeInput = DatasetRef.extend({ column: z.string().min(1, 'column is required'), type: ColumnTypeSchema });

/** `types=age:numeric,income:integer` in a query string. */
export const ColumnTypesParam = z
  .string()
  .max(10_000)
  .transform((s, ctx) => {
    const out: Record<string, z.infer<typeof ColumnTypeSchema>> = {};
    for (const part of s.split(',').filter((p) => p.trim())) {
      const [col, type] = part.split(':').map((x) => x.trim());
      const parsed = ColumnTypeSchema.safeParse(type);
      if (!col || !parsed.success) {
        ctx.addIssue({ code: 'custom', message: `types must look like "age:numeric,income:integer" with types ${datasetColumnTypes.join(', ')}; got "${part}"` });
        return z.NEVER;
      }
      out[col] = parsed.data;
    }
    return out;
  });

export const UploadDatasetQuery = z.object({
  name: DatasetName,
  environment: EnvironmentSchema.default('design'),
  types: ColumnTypesParam.optional(),
  /** The file's encoding when it is not UTF-8. */
  encoding: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(CSV_ENCODINGS, { error: `encoding must be one of ${CSV_ENCODINGS.join(', ')}` }))
    .optional(),
});

export const MAX_APPEND_ROWS = 10_000;
export const AppendRowsBody = z.object({
  rows: z
    .array(z.record(z.string(), z.unknown(), { error: 'each row must be an object of column values' }), { error: 'rows must be a list of objects' })
    .min(1, 'rows must hold at least one row')
    .max(MAX_APPEND_ROWS, `at most ${MAX_APPEND_ROWS} rows per request`),
});

export const DatasetMetricsInput = DatasetRef.extend({
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, 'limit must be at least 1').max(1000, 'limit must be at most 1000').default(200),
});
