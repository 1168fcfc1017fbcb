import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects';
import { runs } from './runs';

export const datasetKinds = ['source', 'built'] as const;
export type DatasetKind = (typeof datasetKinds)[number];
export const environments = ['design', 'production'] as const;
export type Environment = (typeof environments)[number];
export const datasetColumnTypes = ['integer', 'numeric', 'boolean', 'timestamp', 'text'] as const;
export type DatasetColumnType = (typeof datasetColumnTypes)[number];
export type DatasetColumnSpec = {
  name: string;
  type: DatasetColumnType;
  nullable: boolean;
  /** The CSV header as written, when it differs from `name` ("Monthly Income" for `monthly_income`). */
  header?: string;
  /** A boolean column's words as the CSV spelt them, [true, false] ("Yes", "No"): models answer with them. */
  booleanWords?: [string, string];
};

/**
 * A dataset's metadata. Its rows are a Postgres table named `name` in the project's schema for the
 * environment (`p_<project hex>_<environment>`), which this row describes.
 */
export const datasets = pgTable(
  'datasets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    environment: text('environment', { enum: environments }).notNull().default('design'),
    /** A lowercase identifier: the table's name. */
    name: text('name').notNull(),
    kind: text('kind', { enum: datasetKinds }).notNull(),
    columns: jsonb('columns').$type<DatasetColumnSpec[]>().notNull(),
    rowCount: bigint('row_count', { mode: 'number' }).notNull().default(0),
    /** sha256 of the content as loaded: an upload's bytes, chained with every append. */
    fingerprint: text('fingerprint').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('datasets_project_env_name_uq').on(t.projectId, t.environment, t.name)],
);

export type DatasetColumnMetrics = {
  name: string;
  nullCount: number;
  distinctCount?: number;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  /**
   * Present on a large table's metrics: the null count, distinct count, min, max and mean were
   * estimated from a random sample of `sampleRows` rows (the row count stays exact). Absent: exact.
   */
  approximate?: true;
  sampleRows?: number;
};

/** Metrics of a dataset after each build or load: the history the dataset page charts. */
export const datasetMetrics = pgTable(
  'dataset_metrics',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    runId: uuid('run_id').references(() => runs.id, { onDelete: 'set null' }),
    rowCount: bigint('row_count', { mode: 'number' }).notNull(),
    columns: jsonb('columns').$type<DatasetColumnMetrics[]>().notNull(),
    /** Column profiles (server/services/notebooks/output-types.ts ColumnProfile[]); null before they existed. */
    profile: jsonb('profile').$type<Record<string, unknown>[]>(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('dataset_metrics_dataset_at_idx').on(t.datasetId, t.at)],
);

/**
 * The Postgres role that owns a project's data schemas and runs its users' SQL. On a Postgres server
 * it logs in with `rolePassword` (random, never shown): user SQL runs in a session whose session user
 * is this role, so no `SET ROLE`/`RESET ROLE`/`set_config('role')` can reach anything else. The
 * password grants nothing the application does not already have.
 */
export const projectStorage = pgTable('project_storage', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  roleName: text('role_name').notNull().unique(),
  rolePassword: text('role_password').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
