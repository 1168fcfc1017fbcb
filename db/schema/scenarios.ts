import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects';
import { runs } from './runs';

/**
 * The scenarios a project's production runs: those of the active bundle, one row per scenario,
 * reconciled inside each activation's transaction (created, updated, deleted to match the bundle).
 * `spec` is the parsed scenario cell (defaults filled in); its type is owned by server/pipeline
 * (`ScenarioSpec`). The row is also the per-scenario lock that serialises run admission (overlap).
 */
export const scenarios = pgTable(
  'scenarios',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The deployed bundle that declares it now. */
    bundleHash: text('bundle_hash').notNull(),
    cellId: text('cell_id').notNull(),
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('scenarios_project_name_uq').on(t.projectId, t.name)],
);

export const scenarioStepStatuses = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type ScenarioStepStatus = (typeof scenarioStepStatuses)[number];

/**
 * The steps of a scenario run, one row per step of the scenario as it was when the run began
 * (created 'pending' then), updated as the workflow runs them; the run page polls them. Keyed by
 * (run, index), so a retried activity updates its own row. `childRunId`: the build run of a build
 * step, the scenario run of a run_scenario step.
 */
export const scenarioRunSteps = pgTable(
  'scenario_run_steps',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    type: text('type').notNull(),
    name: text('name').notNull(),
    status: text('status', { enum: scenarioStepStatuses }).notNull().default('pending'),
    /** The activity attempt working on it (> 1 after a retry). */
    attempt: integer('attempt').notNull().default(0),
    log: jsonb('log').$type<string[]>().notNull().default([]),
    output: jsonb('output').$type<Record<string, unknown>>(),
    error: text('error'),
    childRunId: uuid('child_run_id'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.runId, t.index] }), index('scenario_run_steps_child_idx').on(t.childRunId)],
);
