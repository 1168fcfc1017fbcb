import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { datasetMetrics, models, modelVersions } from '@/db/schema';
import type { Check, ScenarioStep } from '@/server/pipeline';
import { findBundle } from '../bundles/bundle-view';
import { parseManifest, type BundleManifest } from '../bundles/manifest';
import type { ServiceCtx } from '../context';
import { findDataset } from '../datasets/find-dataset';
import { countSandboxedSelect, DEFAULT_STATEMENT_TIMEOUT_MS, runSandboxedSelect, SandboxCancelled, withSandboxSession, type SandboxScope } from '../datasets/sql-sandbox';
import { runChecks, type CustomCounts } from '../builds/run-checks';
import { computeTableMetrics, describeTable } from '../cells/table-metrics';
import { scoreDataset } from '../models/score-dataset';
import type { ScenarioRunContext } from './run-context';

/** What a step's executor gets: the run, the services' context, cancellation and a log. */
export type StepEnv = {
  db: Db;
  ctx: ServiceCtx;
  run: ScenarioRunContext;
  index: number;
  signal: AbortSignal;
  heartbeat: (details: unknown) => void;
  say: (line: string) => void;
};

/** A step's result: `failure` set when it ran and the outcome is a failure of the user's (an error-level check). */
export type StepResult = {
  output: Record<string, unknown>;
  failure?: string;
  /** The step is not over: it stays open (its output stored) and resumes at this time (ISO), e.g. a retrain's shadow period. */
  resumeAt?: string;
};

/** The user's mistake or refusal: the step fails with this message (and `output`, what it found) and is not retried. */
export class StepRefused extends Error {
  constructor(
    message: string,
    readonly output?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'StepRefused';
  }
}

const production = (run: ScenarioRunContext): SandboxScope => ({ projectId: run.projectId, environment: 'production' });

export async function loadManifest(db: Db, run: ScenarioRunContext): Promise<BundleManifest> {
  return parseManifest((await findBundle(db, run.projectId, run.bundleHash)).manifest);
}

/** The checks of every check cell on `dataset` in the bundle's graph, in cell id order. */
function checksOf(manifest: BundleManifest, dataset: string): Check[] {
  return manifest.graph.graph.nodes
    .flatMap((n) => (n.type === 'cell' && n.kind === 'check' && n.dataset === dataset ? [n] : []))
    .sort((a, b) => (a.cellId < b.cellId ? -1 : 1))
    .flatMap((n) => n.checks);
}

export async function runChecksStep(env: StepEnv, step: Extract<ScenarioStep, { type: 'checks' }>): Promise<StepResult> {
  const checks = checksOf(await loadManifest(env.db, env.run), step.dataset);
  if (checks.length === 0) throw new StepRefused(`the deployed bundle has no check cell on "${step.dataset}"`);
  await findDataset(env.db, { projectId: env.run.projectId, environment: 'production', name: step.dataset });
  const scope = production(env.run);
  const custom: CustomCounts = new Map();
  for (const [i, check] of checks.entries()) {
    if (check.type !== 'custom_sql') continue;
    const r = await countSandboxedSelect(env.db, scope, { sql: check.sql, timeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS, signal: env.signal });
    if (!r.ok && r.reason === 'cancelled') throw new SandboxCancelled();
    custom.set(i, r);
  }
  const outcomes = await withSandboxSession(env.db, scope, { timeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS, signal: env.signal }, async (q) => {
    const columns = await describeTable(q, step.dataset);
    const metrics = await computeTableMetrics(q, step.dataset, columns, null);
    return { rowCount: metrics.rowCount, checks: await runChecks(q, { table: step.dataset, dataset: step.dataset, columns, metrics }, checks, custom) };
  });
  for (const c of outcomes.checks) env.say(`check ${c.name} (${c.severity}): ${c.passed ? 'passed' : 'FAILED'}: ${c.detail}`);
  const blocking = outcomes.checks.filter((c) => !c.passed && c.severity === 'error');
  const output = { dataset: step.dataset, rowCount: outcomes.rowCount, checks: outcomes.checks, warnings: outcomes.checks.filter((c) => !c.passed && c.severity === 'warning').length };
  if (blocking.length) return { output, failure: `error-level check${blocking.length === 1 ? '' : 's'} failed on "${step.dataset}": ${blocking.map((c) => c.name).join(', ')}` };
  return { output };
}

/**
 * Row count and per-column metrics of a production dataset, added to its metrics history (the
 * dataset page charts it) under this run, once: a retried attempt replaces its own point.
 */
export async function runMetricsStep(env: StepEnv, step: Extract<ScenarioStep, { type: 'metrics' }>): Promise<StepResult> {
  const dataset = await findDataset(env.db, { projectId: env.run.projectId, environment: 'production', name: step.dataset });
  const metrics = await withSandboxSession(env.db, production(env.run), { timeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS, signal: env.signal }, async (q) =>
    computeTableMetrics(q, step.dataset, await describeTable(q, step.dataset), null),
  );
  await env.db.transaction(async (tx) => {
    await tx.delete(datasetMetrics).where(and(eq(datasetMetrics.datasetId, dataset.id), eq(datasetMetrics.runId, env.run.runId)));
    await tx.insert(datasetMetrics).values({ datasetId: dataset.id, runId: env.run.runId, rowCount: metrics.rowCount, columns: metrics.columns });
  });
  env.say(`metrics: ${metrics.rowCount.toLocaleString('en-US')} rows, ${metrics.columns.length} columns`);
  return { output: { dataset: step.dataset, rowCount: metrics.rowCount, columns: metrics.columns } };
}

/** Rows of a sql step's result kept in its output. */
export const SQL_STEP_ROWS = 20;

/** A SELECT on production data (what the sandbox allows: one SELECT, as the project's role): its row count and first rows. */
export async function runSqlStep(env: StepEnv, step: Extract<ScenarioStep, { type: 'sql' }>): Promise<StepResult> {
  const scope = production(env.run);
  const opts = { timeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS, signal: env.signal };
  const first = await runSandboxedSelect(env.db, scope, { sql: step.sql, limit: SQL_STEP_ROWS, ...opts });
  if (!first.ok) {
    if (first.reason === 'cancelled') throw new SandboxCancelled();
    throw new StepRefused(`sql: ${first.message}`);
  }
  const counted = await countSandboxedSelect(env.db, scope, { sql: step.sql, ...opts });
  if (!counted.ok) {
    if (counted.reason === 'cancelled') throw new SandboxCancelled();
    throw new StepRefused(`sql: ${counted.message}`);
  }
  env.say(`sql: ${counted.count.toLocaleString('en-US')} rows`);
  return { output: { rowCount: counted.count, columns: first.columns, rows: first.rows } };
}

/** The project's version of a model the bundle carries (by artifact), or null when the bundle does not name it. */
export async function bundleVersionOf(db: Db, run: ScenarioRunContext, manifest: BundleManifest, model: string): Promise<{ version: number; versionId: string; modelId: string } | null> {
  const m = manifest.models.find((x) => x.name === model);
  if (!m) return null;
  const rows = await db
    .select({ version: modelVersions.version, versionId: modelVersions.id, modelId: models.id })
    .from(models)
    .innerJoin(modelVersions, eq(modelVersions.modelId, models.id))
    .where(and(eq(models.projectId, run.projectId), eq(models.name, model), eq(modelVersions.artifactSha256, m.artifact.sha256)))
    .orderBy(asc(modelVersions.version));
  return rows.find((r) => r.version === m.version) ?? rows[0] ?? null;
}

/** Batch scoring on production with the bundle's version of the model (the champion when the bundle does not name it). */
export async function runScoreStep(env: StepEnv, step: Extract<ScenarioStep, { type: 'score' }>): Promise<StepResult> {
  const pinned = await bundleVersionOf(env.db, env.run, await loadManifest(env.db, env.run), step.model);
  const scored = await scoreDataset({
    ctx: env.ctx,
    input: { projectId: env.run.projectId, environment: 'production', model: step.model, dataset: step.dataset, output: step.output, ...(pinned ? { version: pinned.version } : {}) },
    control: { signal: env.signal, onProgress: (p) => env.heartbeat(p) },
  });
  env.say(`scored ${scored.rows.toLocaleString('en-US')} rows of "${step.dataset}" with ${scored.model} v${scored.version} into "${step.output}"`);
  return { output: { model: scored.model, version: scored.version, rows: scored.rows, output: step.output, seconds: scored.seconds } };
}
