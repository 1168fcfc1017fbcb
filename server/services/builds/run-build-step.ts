import { createHash } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, datasetMetrics, datasets, type BuildCheckOutcome, type BuildStepMetrics, type BuildStepProgress, type BuildStepResult } from '@/db/schema';
import { checksOfStep, type CellNode } from '@/server/pipeline';
import { countSandboxedSelect, createTableFromSelect, DEFAULT_STATEMENT_TIMEOUT_MS, SandboxCancelled, trySpareSandboxSession, withSandboxSession, type SandboxScope } from '../datasets/sql-sandbox';
import { buildTsTable } from '../cells/build-ts-table';
import { buildPythonStaging } from './build-python-step';
import {
  BuildStepError,
  cellLabel,
  dropStagingTable,
  loadBuildRun,
  loadStep,
  updateOwnedStep,
  type BuildRunContext,
  type BuildStepOptions,
  type StepRuntime,
  type StepValues,
} from './build-step-state';
import { publishStep } from './publish-step';
import { checkFailureText, runChecks, type CustomCounts } from './run-checks';
import { runScoreStep, runTrainStep } from './run-model-step';
import { columnSpecsOf, describeTable, measureTable, stagingTableOf, type SpareSession } from '../cells/table-metrics';
import { DEFAULT_TS_CELL_LIMITS, TsCellError } from '../cells/ts-cell-sandbox';
import { runStep, type StepLedger } from '../runs/step-engine';

export const DEFAULT_BUILD_STEP_OPTIONS: BuildStepOptions = { statementTimeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS, tsCell: DEFAULT_TS_CELL_LIMITS };

export type { BuildStepOptions, StepRuntime } from './build-step-state';

export type StepOutcome = { stepId: string; status: 'succeeded'; rowCount: number; published: boolean; warnings: number };

type Step = Awaited<ReturnType<typeof loadStep>>;

type ModelOutcome = { result: BuildStepResult; progress: BuildStepProgress | null };

/** What a step has measured so far: a failed or cancelled step records it with its end. */
type Measured = { metrics: BuildStepMetrics | null; checks: BuildCheckOutcome[]; model: ModelOutcome | null };

/** What a step's body works with. */
type StepWork = { db: Db; run: BuildRunContext; step: Step; rt: StepRuntime; say: (line: string) => void; log: string[]; measured: Measured };

/**
 * One step of a build, safe to run again for the same (run, step): a step recorded as succeeded
 * returns what was stored; one recorded as failed, skipped or cancelled fails again the same way;
 * otherwise this attempt takes the step over, drops every staging table an earlier attempt may have
 * left, and builds from scratch. The published table changes only in `publishStep`'s transaction.
 * Claim, heartbeat, log and the close of a failure are the step engine's (services/runs/step-engine.ts).
 */
export async function runBuildStep(db: Db, input: { runId: string; stepId: string }, rt: StepRuntime): Promise<StepOutcome> {
  const run = await loadBuildRun(db, input.runId);
  const measured: Measured = { metrics: null, checks: [], model: null };
  let open: Step | null = null;
  const ledger: StepLedger<StepOutcome, Step> = {
    claim: async () => {
      const claimed = await claimStep(db, run.runId, input.stepId, rt.attempt);
      if ('stored' in claimed) return claimed;
      open = claimed;
      return { open: claimed, log: [] };
    },
    refusalOf: (err) => (err instanceof BuildStepError && err.type === 'failed' ? err.message : null),
    saveLog: (log) => updateOwnedStep(db, run.runId, input.stepId, rt.attempt, { log }),
    close: ({ status, error, log }) =>
      finishOwnedStep(db, run.runId, input.stepId, rt.attempt, {
        status,
        error,
        log,
        checks: measured.checks,
        ...(measured.metrics ? { metrics: measured.metrics, ...(status === 'failed' ? { rowCount: measured.metrics.rowCount } : {}) } : {}),
      }),
    cancelledError: 'the build was cancelled',
    cancelledLine: () => cancelledLine(open, measured),
  };
  return runStep(ledger, rt, (io, step) => buildStep({ db, run, step, rt: { ...rt, heartbeat: io.heartbeat }, say: io.say, log: io.log, measured }));
}

function cancelledLine(step: Step | null, measured: Measured): string {
  if (step?.kind === 'train') return 'cancelled: training was stopped and nothing was registered';
  if (step?.kind === 'score') return measured.model ? `cancelled while checking "${step.dataset}" (its scores were already written)` : 'cancelled: scoring was stopped and nothing was written';
  return 'cancelled: the running query was stopped and the staging table dropped';
}

/**
 * The body of a step: sql, ts and python steps build a staging table and publish it; a score step
 * writes its output in one transaction (its checks then run on what it wrote); train and check
 * steps write no table.
 */
async function buildStep(w: StepWork): Promise<StepOutcome> {
  const { db, run, step, rt } = w;
  const scope: SandboxScope = { projectId: run.projectId, environment: run.environment };
  const stages = step.kind === 'sql' || step.kind === 'ts' || step.kind === 'python';
  const staging = stages ? stagingTableOf(run.runId, step.stepId, rt.attempt) : null;
  try {
    for (let a = 1; a <= rt.attempt; a++) if (stages) await dropStagingTable(db, scope, stagingTableOf(run.runId, step.stepId, a));
    if (step.kind === 'train') {
      const trained = await runTrainStep(db, run, step, cellNode(run, step.cellId), rt, w.say);
      await finishOwnedStep(db, run.runId, step.stepId, rt.attempt, { status: 'succeeded', rowCount: trained.rowCount, result: trained.result, progress: trained.progress, log: w.log });
      return { stepId: step.stepId, status: 'succeeded', rowCount: trained.rowCount, published: false, warnings: 0 };
    }
    const rowCount = await buildTable(w, staging, scope);
    await updateOwnedStep(db, run.runId, step.stepId, rt.attempt, { log: w.log, ...(rowCount === null ? {} : { rowCount }), ...(w.measured.model ?? {}) });
    rt.heartbeat('checking');
    const measured = await measureAndCheck(w, staging ?? step.dataset, staging, scope, rowCount);
    if (!staging) return await closeUnstaged(w, measured.metrics);
    return await publish(w, staging, measured);
  } catch (err) {
    if (staging) await dropStagingTable(db, scope, staging).catch(() => {});
    throw err instanceof TsCellError ? new BuildStepError('failed', `${cellLabel(run, step)}: ${err.detail}`) : err;
  }
}

/** Builds the step's table (staging, or a score step's output); its row count, null for a check step. */
async function buildTable(w: StepWork, staging: string | null, scope: SandboxScope): Promise<number | null> {
  if (w.step.kind === 'score') {
    const scored = await runScoreStep(w.db, w.run, w.step, cellNode(w.run, w.step.cellId), w.rt, w.say);
    w.measured.model = scored;
    return scored.rowCount;
  }
  const built = await buildStaging(w.db, w.run, w.step, staging, scope, w.rt, w.say);
  // A Python cell that registered models (stagebook.register_model) reports them like a train step.
  if (built.model) w.measured.model = built.model;
  return built.rowCount;
}

/** The table's metrics and the step's checks (its custom SQL checks first, see the staging table as the dataset); fails on an error-level check. */
async function measureAndCheck(w: StepWork, target: string, staging: string | null, scope: SandboxScope, rowCount: number | null) {
  const { db, run, step, rt, say } = w;
  const stepChecks = checksOfStep(run.graph, step).flatMap((c) => c.checks);
  const custom: CustomCounts = new Map();
  for (const [i, check] of stepChecks.entries()) {
    if (check.type !== 'custom_sql') continue;
    const shadows = staging ? { [step.dataset]: staging } : {};
    const r = await countSandboxedSelect(db, scope, { sql: check.sql, shadows, timeoutMs: rt.options.statementTimeoutMs, signal: rt.signal });
    if (!r.ok && r.reason === 'cancelled') throw new SandboxCancelled();
    custom.set(i, r);
  }
  const session = { timeoutMs: rt.options.statementTimeoutMs, signal: rt.signal };
  const measured = await withSandboxSession(db, scope, session, async (q) => {
    const t0 = performance.now();
    const columns = await describeTable(q, target);
    // The dataset page's column profiles, stored with this publish's metrics (staging steps only).
    const spare: SpareSession = (fn) => trySpareSandboxSession(db, scope, session, fn);
    const { metrics: m, profile } = await measureTable(q, target, columns, rowCount, { profile: staging !== null, spare });
    const t1 = performance.now();
    const outcomes = await runChecks(q, { table: target, dataset: step.dataset, columns, metrics: m }, stepChecks, custom);
    return { columns, metrics: m, checks: outcomes, profile, ms: { metrics: t1 - t0, checks: performance.now() - t1 } };
  });
  w.measured.metrics = measured.metrics;
  w.measured.checks = measured.checks;
  const m = measured.metrics;
  const exactness = m.approximate ? `, column figures estimated from a sample of ${m.sampleRows!.toLocaleString('en-US')} rows` : '';
  say(`metrics: ${m.rowCount.toLocaleString('en-US')} rows, ${measured.columns.length} columns${exactness} in ${seconds(measured.ms.metrics)}; checks in ${seconds(measured.ms.checks)}`);
  for (const c of measured.checks) say(`check ${c.name} (${c.severity}): ${c.passed ? 'passed' : 'FAILED'}: ${c.detail}`);
  const blocking = measured.checks.filter((c) => !c.passed && c.severity === 'error');
  if (blocking.length) {
    const what =
      step.kind === 'check'
        ? `"${step.dataset}"`
        : step.kind === 'score'
          ? `"${step.dataset}" was written before its checks ran: what depends on it is skipped`
          : `"${step.dataset}" was not published (the previous data stays)`;
    throw new BuildStepError('failed', `${cellLabel(run, step)}: ${blocking.map(checkFailureText).join('; ')}; ${what}`);
  }
  return measured;
}

/** A check or score step succeeds without publishing a table (a score step's output was written already). */
async function closeUnstaged(w: StepWork, metrics: BuildStepMetrics): Promise<StepOutcome> {
  const { db, run, step, rt, measured } = w;
  if (step.kind === 'score') await appendMetrics(db, run, step.dataset, metrics);
  await finishOwnedStep(db, run.runId, step.stepId, rt.attempt, {
    status: 'succeeded',
    rowCount: metrics.rowCount,
    metrics,
    checks: measured.checks,
    log: w.log,
    ...(measured.model ?? {}),
    ...(step.kind === 'score' ? { publishedAt: sql`now()` } : {}),
  });
  return { stepId: step.stepId, status: 'succeeded', rowCount: metrics.rowCount, published: step.kind === 'score', warnings: warningsOf(measured.checks) };
}

/** Publishes the staging table and closes the step, in `publishStep`'s one transaction. */
async function publish(w: StepWork, staging: string, measured: Awaited<ReturnType<typeof measureAndCheck>>): Promise<StepOutcome> {
  const { db, run, step, rt } = w;
  w.say(`publishing "${step.dataset}"`);
  const result = await publishStep(db, run, {
    stepId: step.stepId,
    attempt: rt.attempt,
    workflowId: rt.workflowId,
    dataset: step.dataset,
    staging,
    columns: columnSpecsOf(measured.columns),
    metrics: measured.metrics,
    profile: measured.profile,
    checks: measured.checks,
    log: w.log,
    fingerprint: await fingerprintOf(db, run, step),
  });
  if (result === 'already') return storedOutcome(await loadStep(db, run.runId, step.stepId));
  return { stepId: step.stepId, status: 'succeeded', rowCount: measured.metrics.rowCount, published: true, warnings: warningsOf(measured.checks) };
}

const warningsOf = (checks: BuildCheckOutcome[]) => checks.filter((c) => !c.passed).length;

async function claimStep(db: Db, runId: string, stepId: string, attempt: number): Promise<Step | { stored: StepOutcome }> {
  const existing = await loadStep(db, runId, stepId);
  if (existing.status === 'succeeded') return { stored: storedOutcome(existing) };
  if (existing.status !== 'pending' && existing.status !== 'running') {
    throw new BuildStepError('already-finished', existing.error ?? `step ${stepId} already finished as ${existing.status}`);
  }
  const [claimed] = await db
    .update(buildSteps)
    .set({ status: 'running', attempt, startedAt: sql`coalesce(${buildSteps.startedAt}, now())`, log: [], error: null, progress: null, result: null })
    .where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, stepId), inArray(buildSteps.status, ['pending', 'running'])))
    .returning();
  if (claimed) return claimed;
  return claimStep(db, runId, stepId, attempt);
}

function storedOutcome(step: Step): StepOutcome {
  return {
    stepId: step.stepId,
    status: 'succeeded',
    rowCount: Number(step.rowCount ?? 0),
    published: step.publishedAt !== null,
    warnings: warningsOf(step.checks),
  };
}

/** A score step's output gets its metrics point like a published build (the dataset page charts them). */
async function appendMetrics(db: Db, run: BuildRunContext, name: string, metrics: BuildStepMetrics): Promise<void> {
  const [row] = await db
    .select({ id: datasets.id })
    .from(datasets)
    .where(and(eq(datasets.projectId, run.projectId), eq(datasets.environment, run.environment), eq(datasets.name, name)));
  if (row) await db.insert(datasetMetrics).values({ datasetId: row.id, runId: run.runId, rowCount: metrics.rowCount, columns: metrics.columns });
}

async function finishOwnedStep(db: Db, runId: string, stepId: string, attempt: number, values: StepValues): Promise<void> {
  await updateOwnedStep(db, runId, stepId, attempt, { ...values, stagingTable: null, finishedAt: sql`now()` });
}

async function buildStaging(
  db: Db,
  run: BuildRunContext,
  step: Step,
  staging: string | null,
  scope: SandboxScope,
  rt: StepRuntime,
  say: (line: string) => void,
): Promise<{ rowCount: number | null; model?: ModelOutcome | null }> {
  if (step.kind === 'check' || !staging) {
    say(`checking the published "${step.dataset}"`);
    return { rowCount: null };
  }
  await updateOwnedStep(db, run.runId, step.stepId, rt.attempt, { stagingTable: staging });
  const t0 = performance.now();
  if (step.kind === 'sql') {
    const node = cellNode(run, step.cellId);
    if (node.kind !== 'sql') throw new Error(`step ${step.stepId} is not a sql cell in the graph`);
    say(`sql: CREATE TABLE "${step.dataset}" AS ${summarise(node.sql)}`);
    rt.heartbeat('building');
    const r = await createTableFromSelect(db, scope, { sql: node.sql, table: staging, timeoutMs: rt.options.statementTimeoutMs, signal: rt.signal });
    if (!r.ok) {
      if (r.reason === 'cancelled') throw new SandboxCancelled();
      throw new BuildStepError('failed', `${cellLabel(run, step)}: the SQL failed: ${r.message}`);
    }
    say(`built ${r.rowCount.toLocaleString('en-US')} rows in ${seconds(performance.now() - t0)}`);
    return { rowCount: r.rowCount };
  }
  if (step.source === null) throw new Error(`step ${step.stepId}: the ${step.kind} cell's code was not stored with the build`);
  if (step.kind === 'python') return buildPythonStaging(db, run, { cellId: step.cellId, label: cellLabel(run, step) }, step.source, staging, scope, rt, say);
  say(`ts: running ${cellLabel(run, step)} in the sandbox`);
  try {
    const r = await buildTsTable(db, scope, {
      cellId: step.cellId,
      source: step.source,
      table: staging,
      limits: rt.options.tsCell,
      timeoutMs: rt.options.statementTimeoutMs,
      signal: rt.signal,
      onProgress: (p) => rt.heartbeat(`ts: ${p.rowsIn} rows in, ${p.rowsOut} out`),
    });
    say(`ts: ${r.rowsIn.toLocaleString('en-US')} rows in, ${r.rowCount.toLocaleString('en-US')} out (${r.columns.join(', ')}) in ${seconds(performance.now() - t0)}`);
    return { rowCount: r.rowCount };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    // The database refused something of the cell's own making (its input missing, say): the user's to fix.
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && !/^(08|40|57)/.test(e.code)) {
      throw new BuildStepError('failed', `${cellLabel(run, step)}: ${String(e.message)}`);
    }
    throw err;
  }
}

function cellNode(run: BuildRunContext, cellId: string): CellNode {
  const node = run.graph.nodes.find((n): n is CellNode => n.type === 'cell' && n.cellId === cellId);
  if (!node) throw new Error(`cell ${cellId} is not in the build's graph`);
  return node;
}

/**
 * A built dataset's fingerprint is its lineage: the cell's code and the fingerprints of what it read,
 * so the same code over the same inputs gives the same fingerprint.
 */
async function fingerprintOf(db: Db, run: BuildRunContext, step: Step): Promise<string> {
  const node = cellNode(run, step.cellId);
  const reads = 'reads' in node ? node.reads : [];
  const rows = reads.length
    ? await db
        .select({ name: datasets.name, fingerprint: datasets.fingerprint })
        .from(datasets)
        .where(and(eq(datasets.projectId, run.projectId), eq(datasets.environment, run.environment), inArray(datasets.name, reads)))
    : [];
  const inputs = Object.fromEntries(rows.map((r) => [r.name, r.fingerprint]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
  return createHash('sha256')
    .update(JSON.stringify({ cell: node.sourceSha256, inputs }))
    .digest('hex');
}

function summarise(sqlText: string): string {
  const flat = sqlText.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
