import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, projects, runs, type RunStatus } from '@/db/schema';
import { buildRuns } from '@/server/metrics/registry';
import type { BuildResult } from '@/workflows/shared/build';
import { emitAudit } from '../audit/emit';
import { BuildStepError, closeSteps, dropStagingTable } from './build-step-state';
import type { BuildRunInput } from './build-view';
import { stagingTableOf } from '../cells/table-metrics';

const finished: RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Marks the run running (once) and returns its planned steps in order. */
export async function beginBuildRun(db: Db, runId: string): Promise<{ stepId: string; after: string[] }[]> {
  const [run] = await db
    .select({ status: runs.status })
    .from(runs)
    .where(and(eq(runs.id, runId), eq(runs.kind, 'build')));
  if (!run) throw new BuildStepError('run-not-found', `build run ${runId} does not exist`);
  if (finished.includes(run.status)) throw new BuildStepError('already-finished', `build run ${runId} already finished as ${run.status}`);
  await db
    .update(runs)
    .set({ status: 'running', startedAt: sql`coalesce(${runs.startedAt}, now())` })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])));
  return db.select({ stepId: buildSteps.stepId, after: buildSteps.after }).from(buildSteps).where(eq(buildSteps.runId, runId)).orderBy(asc(buildSteps.ordinal));
}

/** Closes steps the workflow gives up on (skipped downstream of a failure, or failed after retries). */
export async function closeBuildSteps(db: Db, runId: string, stepIds: string[], status: 'skipped' | 'failed', reason: string): Promise<void> {
  const closed = await closeSteps(db, runId, stepIds, status, reason);
  await dropLeftovers(db, runId, closed);
}

/**
 * Finishes the run from its steps, once: 'cancelled' when asked to, else 'succeeded' only if every
 * step succeeded. Steps still open are closed (cancelled, or failed with the workflow's error).
 * Audits `build.complete` in the transaction that finishes the run; a second call returns the
 * stored outcome and audits nothing.
 */
export async function finishBuildRun(db: Db, input: { runId: string; cancelled: boolean; error?: string | undefined; workflowId: string }): Promise<BuildResult> {
  const closed = input.cancelled
    ? await closeSteps(db, input.runId, 'all-open', 'cancelled', 'the build was cancelled')
    : await closeSteps(db, input.runId, 'all-open', input.error ? 'failed' : 'skipped', input.error ?? 'the build ended before this step ran');
  await dropLeftovers(db, input.runId, closed);

  let finishedHere = false;
  const result = await db.transaction(async (tx) => {
    const steps = await tx
      .select({ stepId: buildSteps.stepId, cellId: buildSteps.cellId, status: buildSteps.status, error: buildSteps.error })
      .from(buildSteps)
      .where(eq(buildSteps.runId, input.runId))
      .orderBy(asc(buildSteps.ordinal));
    const ids = (s: string) => steps.filter((x) => x.status === s).map((x) => x.stepId);
    const status: BuildResult['status'] = input.cancelled ? 'cancelled' : steps.every((s) => s.status === 'succeeded') ? 'succeeded' : 'failed';
    const outcome: BuildResult = { runId: input.runId, status, succeeded: ids('succeeded'), failed: ids('failed'), skipped: ids('skipped'), cancelled: ids('cancelled') };
    const firstFailure = steps.find((s) => s.status === 'failed');
    const names = await cellNamesOfRun(tx, input.runId);
    // The audit names cells as people do (their title, or what they make), not by step ids (cell UUIDs).
    const named = (st: string) => steps.filter((x) => x.status === st).map((x) => ({ stepId: x.stepId, cell: names[x.cellId] ?? x.cellId }));
    const error = status === 'failed' ? (input.error ?? (firstFailure ? failureText(firstFailure, names[firstFailure.cellId]) : null)) : null;
    const [updated] = await tx
      .update(runs)
      .set({ status, finishedAt: sql`now()`, result: outcome, error })
      .where(and(eq(runs.id, input.runId), notInArray(runs.status, finished)))
      .returning({ projectId: runs.projectId, input: runs.input, notebookId: runs.notebookId });
    if (!updated) {
      const [run] = await tx.select({ result: runs.result }).from(runs).where(eq(runs.id, input.runId));
      if (!run) throw new BuildStepError('run-not-found', `build run ${input.runId} does not exist`);
      return (run.result as BuildResult | null) ?? outcome;
    }
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, updated.projectId));
    await emitAudit(
      tx,
      { actor: { type: 'workflow', workflowId: input.workflowId } },
      {
        action: 'build.complete',
        target: { type: 'run', id: input.runId },
        teamId: project?.teamId ?? null,
        projectId: updated.projectId,
        details: {
          runId: input.runId,
          status,
          notebookId: updated.notebookId,
          environment: (updated.input as BuildRunInput).environment,
          succeeded: named('succeeded'),
          failed: named('failed'),
          skipped: named('skipped'),
          cancelled: named('cancelled'),
          ...(error ? { error } : {}),
        },
      },
    );
    finishedHere = true;
    return outcome;
  });
  // After the commit, once per run: a retried activity finds the run finished and counts nothing.
  if (finishedHere) buildRuns.inc({ status: result.status });
  return result;
}

/** Staging tables of steps closed without their activity cleaning up (it died, or never answered). */
async function dropLeftovers(db: Db, runId: string, closed: { stepId: string; kind: string; attempt: number }[]): Promise<void> {
  // Only sql and ts steps build staging tables; a train step registers in one transaction, a score step writes in one.
  const open = closed.filter((s) => (s.kind === 'sql' || s.kind === 'ts' || s.kind === 'python') && s.attempt > 0);
  if (open.length === 0) return;
  const [run] = await db.select({ projectId: runs.projectId, input: runs.input }).from(runs).where(eq(runs.id, runId));
  if (!run) return;
  const scope = { projectId: run.projectId, environment: (run.input as BuildRunInput).environment };
  for (const s of open) for (let a = 1; a <= s.attempt; a++) await dropStagingTable(db, scope, stagingTableOf(runId, s.stepId, a));
}

async function cellNamesOfRun(tx: Pick<Db, 'select'>, runId: string): Promise<Record<string, string>> {
  const [run] = await tx.select({ input: runs.input }).from(runs).where(eq(runs.id, runId));
  return (run?.input as BuildRunInput | undefined)?.cellNames ?? {};
}

/** The run's error from its first failed step, by the cell's name (step errors since names start with it). */
export function failureText(step: { stepId: string; error: string | null }, name: string | undefined): string {
  const error = step.error ?? 'unknown error';
  if (!name) return `step ${step.stepId} failed: ${error}`;
  return error.startsWith(`${name}: `) ? error : `${name}: ${error}`;
}

/**
 * A chain of steps (one activity) gave up: the first of them still open is the one that failed
 * (the ones before it succeeded, the ones after it never started and stay pending for the workflow
 * to skip). Returns which failed and which succeeded.
 */
export async function failFirstOpenStep(db: Db, runId: string, stepIds: string[], reason: string): Promise<{ failed: string | null; succeeded: string[] }> {
  const rows = await db
    .select({ stepId: buildSteps.stepId, status: buildSteps.status })
    .from(buildSteps)
    .where(and(eq(buildSteps.runId, runId), inArray(buildSteps.stepId, stepIds)));
  const status = new Map(rows.map((r) => [r.stepId, r.status]));
  const failed = stepIds.find((id) => status.get(id) === 'pending' || status.get(id) === 'running') ?? null;
  if (failed) await closeBuildSteps(db, runId, [failed], 'failed', reason);
  return { failed, succeeded: stepIds.filter((id) => status.get(id) === 'succeeded') };
}
