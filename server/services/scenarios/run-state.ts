import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, ne, notInArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '@/db/client';
import { runs, scenarioRunSteps, scenarios, type RunStatus, type ScenarioStepStatus } from '@/db/schema';
import { scenarioRuns } from '@/server/metrics/registry';
import type { ScenarioSpec, ScenarioStep } from '@/server/pipeline';
import { scenarioStepSummary } from '@/server/pipeline/scenario-cell';
import type {
  ScenarioRunBegun,
  ScenarioRunInput,
  ScenarioRunResult,
  ScenarioStepOutcome,
  ScenarioStepRef,
  ScenarioTriggerInfo,
} from '@/workflows/shared/scenario';
import { scenarioRunWorkflowId, type ScenarioStepType } from '@/workflows/shared/scenario';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { actorLabel } from '../context';
import { teamOfProject } from '../endpoints/find-endpoint';
import { endUnfinishedShadows } from './retrain-shadow';
import type { ScenarioRunContext } from './run-context';

const finished: RunStatus[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

/** What `runs.input` holds for a scenario run: the trigger, and from its start the spec it runs. */
export type ScenarioRunStored = { scenario: string; trigger: ScenarioTriggerInfo; cellId?: string; spec?: ScenarioSpec };

/** Why a scenario activity stopped; the activity layer maps each to a Temporal failure. */
export class ScenarioRunError extends Error {
  constructor(
    readonly type: 'step-failed' | 'run-not-found',
    message: string,
  ) {
    super(message);
    this.name = 'ScenarioRunError';
  }
}

type ScenarioRow = typeof scenarios.$inferSelect;

/** The deployed scenario, its row locked: admissions and starts of one scenario are serialised on it. */
export async function lockScenario(tx: DbOrTx, projectId: string, name: string): Promise<ScenarioRow | undefined> {
  const [row] = await tx
    .select()
    .from(scenarios)
    .where(and(eq(scenarios.projectId, projectId), eq(scenarios.name, name)))
    .for('update');
  return row;
}

const activeRunsOf = (tx: DbOrTx, projectId: string, name: string, statuses: RunStatus[]) =>
  tx
    .select({ id: runs.id, status: runs.status })
    .from(runs)
    .where(and(eq(runs.projectId, projectId), eq(runs.kind, 'scenario'), sql`${runs.input}->>'scenario' = ${name}`, inArray(runs.status, statuses)))
    .orderBy(asc(runs.createdAt));

export type Admission = { runId: string; workflowId: string; status: RunStatus; created: boolean; reason: string | null };

/**
 * Records a new run of a scenario under its overlap policy, inside the caller's transaction (which
 * holds the scenario's row lock): `skip` refuses a run while another is queued or running; `queue_one`
 * lets one wait behind the running one and refuses the rest. A refused run is recorded as `skipped`
 * (the run page shows it, with the reason) and never started. Idempotent by run id and workflow id.
 */
export async function admitScenarioRun(
  tx: DbOrTx,
  meta: AuditMeta,
  input: { scenario: ScenarioRow; runId?: string; workflowId?: string; trigger: ScenarioTriggerInfo },
): Promise<Admission> {
  const runId = input.runId ?? randomUUID();
  const workflowId = input.workflowId ?? scenarioRunWorkflowId(runId);
  const [existing] = await tx
    .select({ id: runs.id, status: runs.status, workflowId: runs.workflowId, error: runs.error })
    .from(runs)
    .where(sql`${runs.id} = ${runId} or ${runs.workflowId} = ${workflowId}`);
  if (existing) return { runId: existing.id, workflowId: existing.workflowId, status: existing.status, created: false, reason: existing.error };

  const s = input.scenario;
  const spec = s.spec as ScenarioSpec;
  const active = await activeRunsOf(tx, s.projectId, s.name, ['queued', 'running']);
  const limit = spec.overlap === 'queue_one' ? 2 : 1;
  const reason = !s.enabled
    ? `scenario "${s.name}" is disabled`
    : active.length >= limit
      ? spec.overlap === 'queue_one'
        ? `a run of "${s.name}" is running and another is already waiting (overlap: queue_one)`
        : `a run of "${s.name}" is still ${active[0]!.status} (overlap: skip)`
      : null;
  const status: RunStatus = reason ? 'skipped' : 'queued';
  const stored: ScenarioRunStored = { scenario: s.name, trigger: input.trigger };
  await tx.insert(runs).values({
    id: runId,
    projectId: s.projectId,
    kind: 'scenario',
    status,
    workflowId,
    input: stored,
    bundleHash: s.bundleHash,
    createdBy: actorLabel(meta.actor).actorLabel,
    error: reason,
    ...(reason ? { finishedAt: new Date() } : {}),
  });
  await emitAudit(tx, meta, {
    action: reason ? 'scenario.run_skip' : 'scenario.run_start',
    target: { type: 'run', id: runId },
    teamId: await teamOfProject(tx, s.projectId),
    projectId: s.projectId,
    details: { scenario: s.name, bundleHash: s.bundleHash, trigger: input.trigger, ...(reason ? { reason } : {}) },
  });
  return { runId, workflowId, status, created: true, reason };
}

/** The step's `name:`, else what it does ("checks credit_clean"). */
export function stepName(step: ScenarioStep): string {
  return step.name ?? scenarioStepSummary(step);
}

/** The scenario cell's step kinds are exactly the workflow's (`scenarioStepKinds`): this fails to compile otherwise. */
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const stepKindsAgree: SameKinds<ScenarioStep['type'], ScenarioStepType> = true;
void stepKindsAgree;

const refsOf = (spec: ScenarioSpec): ScenarioStepRef[] =>
  spec.steps.map((st, index) => ({ index, type: st.type, name: stepName(st), when: st.when, retries: st.retries, ...(st.type === 'run_scenario' ? { scenario: st.scenario } : {}) }));

/**
 * The workflow's first activity. A run started without a run id (a schedule, a watcher) is admitted
 * here, keyed by the workflow id, so a retried start never makes two runs. A queued run starts once
 * no other run of its scenario is running (`wait` otherwise): it is marked running under the
 * scenario's lock, with the spec and bundle hash deployed now stored on it and its steps created
 * pending. Delivered again, it returns the same steps.
 */
export async function beginScenarioRun(db: Db, input: ScenarioRunInput, workflowId: string): Promise<ScenarioRunBegun> {
  return db.transaction(async (tx) => {
    let runId = input.runId;
    if (!runId) {
      const [byWorkflow] = await tx.select({ id: runs.id }).from(runs).where(eq(runs.workflowId, workflowId));
      if (byWorkflow) runId = byWorkflow.id;
      else {
        const scenario = await lockScenario(tx, input.projectId, input.scenario);
        if (!scenario) throw new ScenarioRunError('run-not-found', `scenario "${input.scenario}" is not deployed in project ${input.projectId}`);
        runId = (await admitScenarioRun(tx, { actor: { type: 'workflow', workflowId } }, { scenario, workflowId, trigger: input.trigger })).runId;
      }
    }
    const [run] = await tx.select().from(runs).where(and(eq(runs.id, runId), eq(runs.kind, 'scenario')));
    if (!run) throw new ScenarioRunError('run-not-found', `scenario run ${runId} does not exist`);
    const stored = run.input as ScenarioRunStored;
    if (finished.includes(run.status)) return { decision: 'done', runId, status: run.status as Exclude<RunStatus, 'queued' | 'running'> };
    if (run.status === 'running' && stored.spec) {
      return { decision: 'run', runId, projectId: run.projectId, scenario: stored.scenario, bundleHash: run.bundleHash ?? '', steps: refsOf(stored.spec) };
    }

    const scenario = await lockScenario(tx, run.projectId, stored.scenario);
    if (!scenario) {
      await tx
        .update(runs)
        .set({ status: 'failed', error: `scenario "${stored.scenario}" is no longer deployed`, finishedAt: sql`now()` })
        .where(eq(runs.id, runId));
      return { decision: 'done', runId, status: 'failed' };
    }
    const running = await activeRunsOf(tx, run.projectId, stored.scenario, ['running']);
    if (running.some((r) => r.id !== runId)) return { decision: 'wait', runId };

    const spec = scenario.spec as ScenarioSpec;
    await tx
      .update(runs)
      .set({ status: 'running', startedAt: sql`coalesce(${runs.startedAt}, now())`, bundleHash: scenario.bundleHash, input: { ...stored, cellId: scenario.cellId, spec } satisfies ScenarioRunStored })
      .where(eq(runs.id, runId));
    await tx
      .insert(scenarioRunSteps)
      .values(refsOf(spec).map((r) => ({ runId: runId, index: r.index, type: r.type, name: r.name })))
      .onConflictDoNothing();
    return { decision: 'run', runId, projectId: run.projectId, scenario: stored.scenario, bundleHash: scenario.bundleHash, steps: refsOf(spec) };
  });
}

/** The run a step works in: its project, bundle and stored spec. */
export type { ScenarioRunContext } from './run-context';

export async function loadScenarioRun(db: DbOrTx, runId: string): Promise<ScenarioRunContext> {
  const [run] = await db.select().from(runs).where(and(eq(runs.id, runId), eq(runs.kind, 'scenario')));
  const stored = run?.input as ScenarioRunStored | undefined;
  if (!run || !stored?.spec || !run.bundleHash) throw new ScenarioRunError('run-not-found', `scenario run ${runId} does not exist or has not begun`);
  return { runId, projectId: run.projectId, scenario: stored.scenario, bundleHash: run.bundleHash, spec: stored.spec, trigger: stored.trigger };
}

type StepRow = typeof scenarioRunSteps.$inferSelect;

/**
 * Takes a step over for an activity attempt. A step that already succeeded returns its row as it is
 * (the caller returns the stored outcome); one that already failed, was skipped or cancelled fails
 * again the same way; otherwise it is marked running by this attempt.
 */
export async function claimScenarioStep(db: DbOrTx, runId: string, index: number, attempt: number): Promise<{ row: StepRow; done: boolean }> {
  const [claimed] = await db
    .update(scenarioRunSteps)
    .set({ status: 'running', attempt, startedAt: sql`coalesce(${scenarioRunSteps.startedAt}, now())`, error: null })
    .where(and(eq(scenarioRunSteps.runId, runId), eq(scenarioRunSteps.index, index), inArray(scenarioRunSteps.status, ['pending', 'running'])))
    .returning();
  if (claimed) return { row: claimed, done: false };
  const [row] = await db.select().from(scenarioRunSteps).where(and(eq(scenarioRunSteps.runId, runId), eq(scenarioRunSteps.index, index)));
  if (!row) throw new ScenarioRunError('run-not-found', `scenario run ${runId} has no step ${index}`);
  if (row.status === 'succeeded') return { row, done: true };
  throw new ScenarioRunError('step-failed', row.error ?? `step ${index} already finished as ${row.status}`);
}

/** Updates an open step (log lines, the child run it started). */
export async function updateOpenStep(db: DbOrTx, runId: string, index: number, values: Partial<Pick<StepRow, 'log' | 'childRunId' | 'output'>>): Promise<void> {
  await db
    .update(scenarioRunSteps)
    .set(values)
    .where(and(eq(scenarioRunSteps.runId, runId), eq(scenarioRunSteps.index, index), inArray(scenarioRunSteps.status, ['pending', 'running'])));
}

/** Closes a step with its outcome, once: a step that already finished keeps what it recorded. */
export async function closeScenarioStep(db: DbOrTx, runId: string, index: number, outcome: ScenarioStepOutcome & { log?: string[] }): Promise<void> {
  const ran = outcome.status !== 'skipped';
  await db
    .update(scenarioRunSteps)
    .set({
      status: outcome.status,
      error: outcome.error ?? null,
      ...(outcome.output ? { output: sql`coalesce(${scenarioRunSteps.output}, '{}'::jsonb) || ${JSON.stringify(outcome.output)}::jsonb` } : {}),
      ...(outcome.log ? { log: outcome.log } : {}),
      finishedAt: sql`now()`,
      ...(ran ? { startedAt: sql`coalesce(${scenarioRunSteps.startedAt}, now())` } : {}),
    })
    .where(and(eq(scenarioRunSteps.runId, runId), eq(scenarioRunSteps.index, index), inArray(scenarioRunSteps.status, ['pending', 'running'])));
}

/**
 * Finishes the run from its steps, once, audited `scenario.run_complete`: cancelled when asked,
 * failed when a step failed or was cancelled (or the workflow broke), else succeeded. Steps still
 * open are closed (cancelled, or failed with the workflow's error). A second call returns what the
 * first stored and audits nothing. `first` tells the caller whether this call finished it.
 */
export async function finishScenarioRun(
  db: Db,
  input: { runId: string; cancelled: boolean; error?: string | undefined; workflowId: string },
): Promise<ScenarioRunResult & { first: boolean; projectId: string; scenario: string }> {
  const result = await db.transaction(async (tx) => {
    const [run] = await tx.select().from(runs).where(and(eq(runs.id, input.runId), eq(runs.kind, 'scenario')));
    if (!run) throw new ScenarioRunError('run-not-found', `scenario run ${input.runId} does not exist`);
    const stored = run.input as ScenarioRunStored;
    const openStatus: ScenarioStepStatus = input.cancelled ? 'cancelled' : input.error ? 'failed' : 'skipped';
    const openError = input.cancelled ? 'the run was cancelled' : (input.error ?? 'the run ended before this step ran');
    if (!finished.includes(run.status)) {
      await tx
        .update(scenarioRunSteps)
        .set({ status: openStatus, error: openError, finishedAt: sql`now()` })
        .where(and(eq(scenarioRunSteps.runId, input.runId), inArray(scenarioRunSteps.status, ['pending', 'running'])));
    }
    const steps = await tx.select().from(scenarioRunSteps).where(eq(scenarioRunSteps.runId, input.runId)).orderBy(asc(scenarioRunSteps.index));
    const statuses = steps.map((s) => s.status as ScenarioStepOutcome['status']);
    const base = { runId: input.runId, steps: statuses, triggered: [], projectId: run.projectId, scenario: stored.scenario };
    if (finished.includes(run.status)) return { ...base, status: run.status as ScenarioRunResult['status'], first: false };

    const firstFailure = steps.find((s) => s.status === 'failed' || s.status === 'cancelled');
    const status: ScenarioRunResult['status'] = input.cancelled ? 'cancelled' : input.error || firstFailure ? 'failed' : 'succeeded';
    const error = status === 'failed' ? (input.error ?? `step ${firstFailure!.index + 1} (${firstFailure!.name}) ${firstFailure!.status}: ${firstFailure!.error ?? 'unknown error'}`) : status === 'cancelled' ? 'the run was cancelled' : null;
    const shadowsEnded = await endUnfinishedShadows(tx, { runId: input.runId, projectId: run.projectId, workflowId: input.workflowId }, error ?? status);
    await tx
      .update(runs)
      // Merged: a reporter of a gate decision may have recorded its delivery on the run already.
      .set({ status, error, finishedAt: sql`now()`, result: sql`coalesce(${runs.result}, '{}'::jsonb) || ${JSON.stringify({ steps: statuses })}::jsonb` })
      .where(and(eq(runs.id, input.runId), notInArray(runs.status, finished)));
    await emitAudit(
      tx,
      { actor: { type: 'workflow', workflowId: input.workflowId } },
      {
        action: 'scenario.run_complete',
        target: { type: 'run', id: input.runId },
        teamId: await teamOfProject(tx, run.projectId),
        projectId: run.projectId,
        details: { scenario: stored.scenario, status, bundleHash: run.bundleHash, trigger: stored.trigger, steps: statuses, ...(error ? { error } : {}), ...(shadowsEnded.length ? { shadowsEnded } : {}) },
      },
    );
    return { ...base, status, first: true };
  });
  // After the commit, once per run (`first`): a retried activity counts nothing.
  if (result.first) scenarioRuns.inc({ status: result.status });
  return result;
}

/** Deployed scenarios of a project that run after `scenario` finishes with `status`. */
export async function dependentsOf(db: DbOrTx, projectId: string, scenario: string, status: 'succeeded' | 'failed'): Promise<ScenarioRow[]> {
  const rows = await db.select().from(scenarios).where(and(eq(scenarios.projectId, projectId), ne(scenarios.name, scenario), eq(scenarios.enabled, true)));
  return rows.filter((r) =>
    (r.spec as ScenarioSpec).triggers.some((t) => t.type === 'after_scenario' && t.scenario === scenario && (t.outcome === 'any' || t.outcome === status)),
  );
}
