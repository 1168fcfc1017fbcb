import { index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { notebooks } from './notebooks';
import { projects } from './projects';

/** `skipped`: a scenario run refused by its overlap policy (recorded, never started). */
export const runStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;
export type RunStatus = (typeof runStatuses)[number];
/**
 * `hello`: runs of the first wave's scaffold workflow (removed); kept so their rows still read.
 * `train`: a training started from the train form (`trainWorkflow`, services/models/trainings.ts).
 */
export const runKinds = ['hello', 'build', 'scenario', 'train'] as const;
export type RunKind = (typeof runKinds)[number];

/** One execution of a workflow; the workflow id is `<kind>-<run id>`. */
export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: runKinds }).notNull(),
    status: text('status', { enum: runStatuses }).notNull().default('queued'),
    workflowId: text('workflow_id').notNull().unique(),
    input: jsonb('input').$type<Record<string, unknown>>().notNull().default({}),
    result: jsonb('result').$type<Record<string, unknown>>(),
    error: text('error'),
    /** The latest progress a running run reported (trainings: stage, rows read, iteration); null for builds and scenarios, whose steps carry theirs. */
    progress: jsonb('progress').$type<Record<string, unknown>>(),
    createdBy: text('created_by').notNull(),
    /** The notebook a build was compiled from (builds only); kept when the notebook is deleted. */
    notebookId: uuid('notebook_id').references(() => notebooks.id, { onDelete: 'set null' }),
    /** The bundle a production run ran under (its hash); null for design runs. */
    bundleHash: text('bundle_hash'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('runs_project_created_idx').on(t.projectId, t.createdAt), index('runs_notebook_created_idx').on(t.notebookId, t.createdAt)],
);

/**
 * The durable outcome of each step of a run, keyed by (run, step): activities write here with
 * ON CONFLICT DO NOTHING so a retried or re-delivered activity never records a step twice.
 */
export const runSteps = pgTable(
  'run_steps',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    step: text('step').notNull(),
    output: jsonb('output').$type<Record<string, unknown>>().notNull().default({}),
    completedAt: timestamp('completed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.step] })],
);
