import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, datasetMetrics, datasets, type BuildStepMetrics } from '@/db/schema';
import { checksOfStep } from '@/server/pipeline';
import { PROFILE_SAMPLE_ROWS } from '../datasets/column-profile';
import { trySpareSandboxSession, withSandboxSession, type SandboxScope } from '../datasets/sql-sandbox';
import { ident } from '../datasets/storage';
import { describeTable, measureTable, type SpareSession, type TableMeasure } from '../cells/table-metrics';
import { loadBuildRun, loadStep, type BuildRunContext, type BuildStepOptions } from './build-step-state';

/**
 * Metrics after publishing. A step's metrics and column profiles are a pass over its table (a block
 * sample above EXACT_METRICS_MAX_ROWS rows, exact below): on a large table it costs a good part of
 * the step's own SQL, and when no check waits on it, nothing needs it before the table is out. Such
 * a step publishes first and the build measures the published table beside the steps that read it
 * (the workflow's `measureStep`), which takes the pass off the build's critical path. The build ends
 * once every pass has finished; the figures, profiles and metrics history are the same as measured
 * before publishing, the history's point dated at the publish.
 */

/** Up to this many rows a table is measured before publishing all the same: one exact pass costs less than what moving it saves. */
export const MEASURE_AFTER_PUBLISH_MIN_ROWS = PROFILE_SAMPLE_ROWS;

/** A step whose table can be published before it is measured: it writes a staging table, no check reads its metrics, and the table is large. */
export function measuresAfterPublish(run: BuildRunContext, step: { kind: string; cellId: string; dataset: string }, rowCount: number | null): boolean {
  if (step.kind !== 'sql' && step.kind !== 'ts' && step.kind !== 'python') return false;
  if (rowCount === null || rowCount <= MEASURE_AFTER_PUBLISH_MIN_ROWS) return false;
  return checksOfStep(run.graph, step as Parameters<typeof checksOfStep>[1]).every((c) => c.checks.length === 0);
}

/** What the measuring activity hands the service: its cancellation, its heartbeat and the build's limits. */
export type MeasureRuntime = { signal: AbortSignal; heartbeat: (details: unknown) => void; options: BuildStepOptions };

/**
 * Measures a step published with its metrics pending, and stores them with the step (a log line
 * as the step's own) and in the dataset's metrics history. Idempotent: a step measured already, or
 * not published, is left as it is. When the dataset was published again (another build) or removed
 * before this pass began, the table is no longer this step's: nothing is measured and the log says so.
 */
export async function measurePublishedStep(db: Db, input: { runId: string; stepId: string }, rt: MeasureRuntime): Promise<void> {
  const run = await loadBuildRun(db, input.runId);
  const step = await loadStep(db, input.runId, input.stepId);
  if (step.status !== 'succeeded' || step.publishedAt === null || step.metrics !== null) return;
  const scope: SandboxScope = { projectId: run.projectId, environment: run.environment };
  const session = { timeoutMs: rt.options.statementTimeoutMs, signal: rt.signal };
  const t0 = performance.now();
  rt.heartbeat('measuring');
  const measured = await withSandboxSession(db, scope, session, async (q) => {
    const exists = await q(`SELECT to_regclass($1) IS NOT NULL AS ok`, [ident(step.dataset)]);
    if (exists.rows[0]?.ok !== true) return null;
    // Held until the pass ends: a later publish of this dataset (its DROP) waits for it, and one
    // that came first shows in the dataset's row, checked once the lock is ours.
    await q(`LOCK TABLE ${ident(step.dataset)} IN ACCESS SHARE MODE`);
    if (!(await publishedBy(db, run, step))) return null;
    const columns = await describeTable(q, step.dataset);
    const spare: SpareSession = (fn) => trySpareSandboxSession(db, scope, session, fn);
    const m = await measureTable(q, step.dataset, columns, Number(step.rowCount ?? 0), { profile: true, spare });
    return { ...m, columnCount: columns.length };
  });
  const line = measured
    ? metricsLine(measured.metrics, measured.columnCount, performance.now() - t0)
    : `"${step.dataset}" changed before its metrics were taken (published again or removed): none are recorded for this build`;
  await store(db, run, step, `${secondsText(Date.now() - (step.startedAt?.getTime() ?? Date.now()))} ${line}`, measured);
}

/** The dataset's row still says this step published its table (publish sets both times in one transaction). */
async function publishedBy(db: Db, run: BuildRunContext, step: { stepId: string; dataset: string }): Promise<boolean> {
  const [row] = await db
    .select({ id: datasets.id })
    .from(datasets)
    .innerJoin(buildSteps, and(eq(buildSteps.runId, run.runId), eq(buildSteps.stepId, step.stepId), eq(buildSteps.publishedAt, datasets.updatedAt)))
    .where(and(eq(datasets.projectId, run.projectId), eq(datasets.environment, run.environment), eq(datasets.name, step.dataset)));
  return row !== undefined;
}

type Step = Awaited<ReturnType<typeof loadStep>>;

/**
 * After the sandbox session ended (its lock on the table would deadlock with a publish waiting for
 * it while holding the dataset's row). The history's point is dated at the publish, as when it was
 * written in the publish's transaction, so it orders among other publishes by when the data changed.
 */
async function store(db: Db, run: BuildRunContext, step: Step, line: string, measured: TableMeasure | null): Promise<void> {
  await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(buildSteps)
      .set({ ...(measured ? { metrics: measured.metrics } : {}), log: sql`${buildSteps.log} || ${JSON.stringify([line])}::jsonb` })
      .where(and(eq(buildSteps.runId, run.runId), eq(buildSteps.stepId, step.stepId), isNull(buildSteps.metrics)))
      .returning({ stepId: buildSteps.stepId });
    if (!updated || !measured) return;
    const [row] = await tx
      .select({ id: datasets.id })
      .from(datasets)
      .where(and(eq(datasets.projectId, run.projectId), eq(datasets.environment, run.environment), eq(datasets.name, step.dataset)));
    if (!row) return;
    await tx.insert(datasetMetrics).values({
      datasetId: row.id,
      runId: run.runId,
      rowCount: measured.metrics.rowCount,
      columns: measured.metrics.columns,
      profile: (measured.profile ?? null) as Record<string, unknown>[] | null,
      at: sql`(SELECT ${buildSteps.publishedAt} FROM ${buildSteps} WHERE ${buildSteps.runId} = ${run.runId} AND ${buildSteps.stepId} = ${step.stepId})`,
    });
  });
}

function metricsLine(m: BuildStepMetrics, columns: number, ms: number): string {
  const exactness = m.approximate ? `, column figures estimated from a sample of ${m.sampleRows!.toLocaleString('en-US')} rows` : '';
  return `metrics after publishing: ${m.rowCount.toLocaleString('en-US')} rows, ${columns} columns${exactness} in ${secondsText(ms)}`;
}

function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
