import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, datasetMetrics, datasets, type BuildCheckOutcome, type BuildStepMetrics, type DatasetColumnSpec } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ColumnProfile } from '../notebooks/output-types';
import { ident, schemaNameOf, withDataTransaction } from '../datasets/storage';
import { BuildStepError, cellLabel, type BuildRunContext } from './build-step-state';

export type PublishInput = {
  stepId: string;
  attempt: number;
  workflowId: string;
  dataset: string;
  staging: string;
  columns: DatasetColumnSpec[];
  metrics: BuildStepMetrics;
  /** Column profiles of the staging table (ColumnProfile[]), stored with the metrics. */
  profile?: ColumnProfile[] | null;
  checks: BuildCheckOutcome[];
  log: string[];
  fingerprint: string;
};

/**
 * Write-audit-publish, the last part: in one transaction, swap the staging table in under the
 * dataset's name (drop + rename), record the dataset's metadata and metrics, mark the step
 * succeeded and audit it. Readers see the old table or the new one, never neither. Idempotent: a step
 * already recorded as published returns 'already' and changes nothing; an attempt that no longer
 * owns the step (it timed out and another took over) changes nothing and fails.
 */
export async function publishStep(db: Db, run: BuildRunContext, p: PublishInput): Promise<'published' | 'already'> {
  const schema = ident(schemaNameOf(run.projectId, run.environment));
  return withDataTransaction(db, async (s) => {
    const [step] = await s.tx
      .select({ status: buildSteps.status, attempt: buildSteps.attempt })
      .from(buildSteps)
      .where(and(eq(buildSteps.runId, run.runId), eq(buildSteps.stepId, p.stepId)))
      .for('update');
    if (!step) throw new BuildStepError('run-not-found', `build run ${run.runId} has no step ${p.stepId}`);
    if (step.status === 'succeeded') return 'already';
    if (step.status !== 'running' || step.attempt !== p.attempt) {
      throw new BuildStepError('stale-attempt', `step ${p.stepId} is ${step.status} (attempt ${step.attempt}); attempt ${p.attempt} no longer owns it`);
    }
    const [current] = await s.tx
      .select()
      .from(datasets)
      .where(and(eq(datasets.projectId, run.projectId), eq(datasets.environment, run.environment), eq(datasets.name, p.dataset)))
      .for('update');
    if (current?.kind === 'source') {
      throw new BuildStepError('failed', `"${p.dataset}" is a source dataset (uploaded or ingested); a cell cannot replace it: write another name`);
    }
    await s.query(`DROP TABLE IF EXISTS ${schema}.${ident(p.dataset)}`);
    await s.query(`ALTER TABLE ${schema}.${ident(p.staging)} RENAME TO ${ident(p.dataset)}`);
    const values = { columns: p.columns, rowCount: p.metrics.rowCount, fingerprint: p.fingerprint, updatedAt: sql`now()` };
    const [row] = current
      ? await s.tx.update(datasets).set(values).where(eq(datasets.id, current.id)).returning()
      : await s.tx
          .insert(datasets)
          .values({ projectId: run.projectId, environment: run.environment, name: p.dataset, kind: 'built', ...values })
          .returning();
    if (!row) throw new Error('dataset upsert returned no row');
    await s.tx
      .insert(datasetMetrics)
      .values({ datasetId: row.id, runId: run.runId, rowCount: p.metrics.rowCount, columns: p.metrics.columns, profile: (p.profile ?? null) as Record<string, unknown>[] | null });
    await s.tx
      .update(buildSteps)
      .set({
        status: 'succeeded',
        rowCount: p.metrics.rowCount,
        metrics: p.metrics,
        checks: p.checks,
        log: p.log,
        error: null,
        stagingTable: null,
        finishedAt: sql`now()`,
        publishedAt: sql`now()`,
      })
      .where(and(eq(buildSteps.runId, run.runId), eq(buildSteps.stepId, p.stepId)));
    const meta = { actor: { type: 'workflow' as const, workflowId: p.workflowId } };
    const base = { target: { type: 'dataset', id: row.id }, teamId: run.teamId, projectId: run.projectId };
    if (!current) await emitAudit(s.tx, meta, { ...base, action: 'dataset.create', details: { name: p.dataset, environment: run.environment, kind: 'built', columns: p.columns } });
    await emitAudit(s.tx, meta, {
      ...base,
      action: 'dataset.publish',
      details: {
        name: p.dataset,
        environment: run.environment,
        runId: run.runId,
        stepId: p.stepId,
        cell: cellLabel(run, { cellId: p.stepId, dataset: p.dataset }),
        rows: p.metrics.rowCount,
        fingerprint: p.fingerprint,
        warnings: p.checks.filter((c) => !c.passed).map((c) => c.name),
        ...(current ? { before: { rows: Number(current.rowCount), fingerprint: current.fingerprint } } : {}),
      },
    });
    return 'published';
  });
}
