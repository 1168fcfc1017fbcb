import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { DatasetColumnMetrics } from './datasets';
import { runs } from './runs';

/**
 * Compiled pipeline graphs, content-addressed by the sha256 of their canonical JSON: a build stores
 * the graph it runs here at start (so the workflow never recompiles), and equal graphs are stored once.
 */
export const pipelineGraphs = pgTable('pipeline_graphs', {
  hash: text('hash').primaryKey(),
  /** The canonical JSON text, exactly as hashed. */
  json: text('json').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const buildStepStatuses = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type BuildStepStatus = (typeof buildStepStatuses)[number];
export const buildStepKinds = ['sql', 'ts', 'python', 'check', 'train', 'score'] as const;
export type BuildStepKind = (typeof buildStepKinds)[number];

/** One check's outcome on a build's staging table (or on a source dataset). */
/**
 * A check's verdict. `observed` and `expected` (checks evaluated since cells had names) are the value
 * and its threshold in a few words ("3,980 rows", "min 4,000"): what chips and failure messages show.
 */
export type BuildCheckOutcome = { name: string; severity: 'error' | 'warning'; passed: boolean; detail: string; observed?: string; expected?: string };
/** `approximate` and `sampleRows`: the column figures come from a sample (see DatasetColumnMetrics). */
export type BuildStepMetrics = { rowCount: number; columns: DatasetColumnMetrics[]; approximate?: true; sampleRows?: number };
/** A long step's progress (train, score, ts), as its activity last heartbeated it. */
export type BuildStepProgress = { stage: string; fraction: number | null; message: string; updatedAt: string };
/** What a train or score step produced. */
export type BuildStepResult =
  | {
      kind: 'train';
      model: string;
      version: number;
      versionId: string;
      metric: string;
      value: number | null;
      /** A leaderboard cell's fits, best first (the chosen one is the version; the others its candidates). */
      leaderboard?: { metric: string; rows: { version: number; label: string; auc: number; logLoss: number; chosen: boolean }[] };
    }
  | { kind: 'score'; model: string; version: number; rows: number };

/**
 * The steps of a build run, one row per step, created 'pending' when the build is planned and
 * updated as it progresses (the UI polls them). Keyed by (run, step): every activity attempt of a
 * step works on this row, and `attempt` names the one that owns it now, so a stale attempt (timed out
 * but still running somewhere) cannot publish over a newer one.
 */
export const buildSteps = pgTable(
  'build_steps',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** The cell's id: one step per cell that writes a dataset (its checks run inside it), or per check cell of a source. */
    stepId: text('step_id').notNull(),
    cellId: text('cell_id').notNull(),
    kind: text('kind', { enum: buildStepKinds }).notNull(),
    /** The dataset the step writes or checks; a train step's training dataset. */
    dataset: text('dataset').notNull(),
    /** train: the model it registers a version of; score: the model it scores with. */
    model: text('model'),
    /** Step ids this one waits for (within the build). */
    after: jsonb('after').$type<string[]>().notNull().default([]),
    /** A ts step's code as it was when the build started (sql steps' statements are in the graph). */
    source: text('source'),
    /** Position in the build's dependency order, for listing. */
    ordinal: integer('ordinal').notNull(),
    status: text('status', { enum: buildStepStatuses }).notNull().default('pending'),
    attempt: integer('attempt').notNull().default(0),
    stagingTable: text('staging_table'),
    rowCount: bigint('row_count', { mode: 'number' }),
    checks: jsonb('checks').$type<BuildCheckOutcome[]>().notNull().default([]),
    metrics: jsonb('metrics').$type<BuildStepMetrics>(),
    progress: jsonb('progress').$type<BuildStepProgress>(),
    result: jsonb('result').$type<BuildStepResult>(),
    log: jsonb('log').$type<string[]>().notNull().default([]),
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    publishedAt: timestamp('published_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stepId] }), index('build_steps_run_ordinal_idx').on(t.runId, t.ordinal)],
);
