import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, pipelineGraphs, projects, runs, type BuildStepStatus } from '@/db/schema';
import type { PipelineGraph } from '@/server/pipeline';
import { ident, schemaNameOf } from '../datasets/storage';
import type { BuildRunInput } from './build-view';
import type { TsCellLimits } from '../cells/ts-cell-sandbox';
import type { StepAttempt } from '../runs/step-engine';

/** Why a build step could not run or failed; the activity layer turns each into the right Temporal failure (a stop is the step engine's `StepStopped`). */
export class BuildStepError extends Error {
  constructor(
    readonly type: 'failed' | 'already-finished' | 'stale-attempt' | 'run-not-found',
    message: string,
  ) {
    super(message);
    this.name = 'BuildStepError';
  }
}

export type BuildRunContext = {
  runId: string;
  projectId: string;
  teamId: string | null;
  environment: 'design' | 'production';
  graph: PipelineGraph;
  /** Each cell's name when the build started (title, else what it makes): what messages call it. */
  cellNames: Record<string, string>;
  /** The deployed bundle a production build runs (its Python cells install the bundle's requirements); null for a design build. */
  bundleHash: string | null;
};

/** What messages call a step's cell: its name when the build started, else the dataset it writes. */
export function cellLabel(run: Pick<BuildRunContext, 'cellNames'>, step: { cellId: string; dataset: string }): string {
  return run.cellNames[step.cellId] ?? step.dataset;
}

/** The run's stored context: project, environment and the graph compiled when it started. */
export async function loadBuildRun(db: Db, runId: string): Promise<BuildRunContext> {
  const [run] = await db
    .select({ id: runs.id, projectId: runs.projectId, input: runs.input, teamId: projects.teamId, bundleHash: runs.bundleHash })
    .from(runs)
    .innerJoin(projects, eq(projects.id, runs.projectId))
    .where(and(eq(runs.id, runId), eq(runs.kind, 'build')));
  if (!run) throw new BuildStepError('run-not-found', `build run ${runId} does not exist`);
  const input = run.input as BuildRunInput;
  const [graph] = await db.select({ json: pipelineGraphs.json }).from(pipelineGraphs).where(eq(pipelineGraphs.hash, input.graphHash));
  if (!graph) throw new Error(`build run ${runId}: its graph ${input.graphHash} is not stored`);
  return { runId, projectId: run.projectId, teamId: run.teamId, environment: input.environment, graph: JSON.parse(graph.json) as PipelineGraph, cellNames: input.cellNames ?? {}, bundleHash: run.bundleHash };
}

export async function loadStep(db: Db, runId: string, stepId: string) {
  const [step] = await db
    .select()
    .from(buildSteps)
    .where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, stepId)));
  if (!step) throw new BuildStepError('run-not-found', `build run ${runId} has no step ${stepId}`);
  return step;
}

/** Updates a step only while `attempt` still owns it and it is running. Returns false otherwise. */
export type StepValues = { [K in keyof typeof buildSteps.$inferInsert]?: (typeof buildSteps.$inferInsert)[K] | SQL };

export async function updateOwnedStep(db: Db, runId: string, stepId: string, attempt: number, values: StepValues): Promise<boolean> {
  const rows = await db
    .update(buildSteps)
    .set(values)
    .where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, stepId), eq(buildSteps.attempt, attempt), eq(buildSteps.status, 'running')))
    .returning({ stepId: buildSteps.stepId });
  return rows.length > 0;
}

/** Sets steps still pending or running to a final status (skipped, cancelled, failed); returns those it closed. */
export async function closeSteps(
  db: Db,
  runId: string,
  stepIds: string[] | 'all-open',
  status: BuildStepStatus,
  error: string,
): Promise<{ stepId: string; kind: string; attempt: number }[]> {
  const open: BuildStepStatus[] = ['pending', 'running'];
  return db
    .update(buildSteps)
    .set({ status, error, stagingTable: null, finishedAt: sql`now()` })
    .where(and(eq(buildSteps.runId, runId), inArray(buildSteps.status, open), stepIds === 'all-open' ? undefined : inArray(buildSteps.stepId, stepIds)))
    .returning({ stepId: buildSteps.stepId, kind: buildSteps.kind, attempt: buildSteps.attempt });
}

/** Drops a step's staging table, whichever attempt made it. */
export async function dropStagingTable(db: Db, scope: { projectId: string; environment: 'design' | 'production' }, table: string): Promise<void> {
  if (!/^_sb_b_[0-9a-f]{20}_\d{1,4}$/.test(table)) throw new Error(`not a staging table: ${table}`);
  await db.execute(sql.raw(`DROP TABLE IF EXISTS ${ident(schemaNameOf(scope.projectId, scope.environment))}.${ident(table)}`));
}

export type BuildStepOptions = { statementTimeoutMs: number; tsCell: TsCellLimits };

/** What the activity hands the step: its attempt (services/runs/step-engine.ts) and the build's limits. */
export type StepRuntime = StepAttempt & { options: BuildStepOptions };
