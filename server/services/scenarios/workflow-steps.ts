import type { ScenarioSpec, ScenarioStep } from '@/server/pipeline';
import type { ScenarioRunResult } from '@/workflows/shared/scenario';
import { createProductionBuild } from '../builds/start-production-build';
import { auditMetaOf, type ServiceCtx } from '../context';
import { enqueueNotification } from '../notifications/enqueue-notification';
import { refusalOf, type BeforeStep } from './run-step';
import { admitScenarioRun, claimScenarioStep, dependentsOf, finishScenarioRun, loadScenarioRun, lockScenario, updateOpenStep, type ScenarioRunContext } from './run-state';
import { runIdFor, startScenarioRun } from './start-scenario-run';
import { loadManifest } from './steps';

/**
 * The steps a scenario workflow runs itself (a build, a child scenario, a notification): an
 * activity prepares each (this file), the workflow waits for the child or the delivery and closes
 * the step. Each is idempotent by run and step: the child's run id and the delivery id come from the
 * workflow, so a retried preparation finds what the first made. `attempt` claims the step for the
 * activity's attempt; `ctx` acts as the workflow (its actor, the worker's client to start runs).
 */
export type WorkflowStepCall = { ctx: ServiceCtx; attempt: number; beforeStep?: BeforeStep | undefined };

type StepOf<K extends ScenarioStep['type']> = Extract<ScenarioStep, { type: K }>;

async function openStep<K extends ScenarioStep['type']>(call: WorkflowStepCall, runId: string, index: number, type: K) {
  const run = await loadScenarioRun(call.ctx.db, runId);
  await call.beforeStep?.({ runId, index, type, attempt: call.attempt });
  return { run, step: run.spec.steps[index] as StepOf<K> };
}

/** Creates the production build a `build` step waits for, or the reason it cannot start. */
export async function prepareScenarioBuild(call: WorkflowStepCall, input: { runId: string; index: number; buildRunId: string }): Promise<{ buildRunId: string; projectId: string } | { failed: string }> {
  const { db } = call.ctx;
  const { runId, index, buildRunId } = input;
  const { run, step } = await openStep(call, runId, index, 'build');
  const created = await createProductionBuild(db, auditMetaOf(call.ctx), {
    runId: buildRunId,
    projectId: run.projectId,
    bundleHash: run.bundleHash,
    manifest: await loadManifest(db, run),
    datasets: step.datasets,
    scenarioRunId: runId,
  });
  if (!created.ok) return { failed: created.message };
  await claimScenarioStep(db, runId, index, call.attempt).catch(() => null);
  await updateOpenStep(db, runId, index, { childRunId: buildRunId, output: { buildRunId } });
  return { buildRunId, projectId: run.projectId };
}

/** Admits the child run of a `run_scenario` step under the child scenario's overlap policy. */
export async function prepareChildScenario(call: WorkflowStepCall, input: { runId: string; index: number; childRunId: string }): Promise<{ admitted: boolean; projectId: string; scenario: string; reason?: string }> {
  const { db } = call.ctx;
  const { runId, index, childRunId } = input;
  const { run, step } = await openStep(call, runId, index, 'run_scenario');
  const admitted = await db.transaction(async (tx) => {
    const scenario = await lockScenario(tx, run.projectId, step.scenario);
    if (!scenario) return null;
    return admitScenarioRun(tx, auditMetaOf(call.ctx), { scenario, runId: childRunId, trigger: { kind: 'run_scenario', detail: { scenario: run.scenario, runId }, firedAt: new Date().toISOString() } });
  });
  await claimScenarioStep(db, runId, index, call.attempt).catch(() => null);
  if (!admitted) return { admitted: false, projectId: run.projectId, scenario: step.scenario, reason: `scenario "${step.scenario}" is not deployed` };
  await updateOpenStep(db, runId, index, { childRunId, output: { childRunId } });
  return { admitted: admitted.status === 'queued', projectId: run.projectId, scenario: step.scenario, ...(admitted.reason ? { reason: admitted.reason } : {}) };
}

/** Enqueues a `notify` step's delivery (the notification workflow delivers it), or the user's mistake that stops it. */
export async function prepareNotification(call: WorkflowStepCall, input: { runId: string; index: number; deliveryId: string; failedSoFar: boolean }): Promise<{ deliveryId: string } | { failed: string }> {
  const { db } = call.ctx;
  const { runId, index, deliveryId, failedSoFar } = input;
  const { run, step } = await openStep(call, runId, index, 'notify');
  await claimScenarioStep(db, runId, index, call.attempt).catch(() => null);
  const outcome = failedSoFar ? 'failed' : 'succeeded';
  try {
    await enqueueNotification({
      ctx: call.ctx,
      projectId: run.projectId,
      channel: step.channel,
      event: failedSoFar ? 'scenario.failed' : 'scenario.succeeded',
      payload: { message: step.message ?? defaultMessage(run, failedSoFar), scenario: run.scenario, outcome, bundleHash: run.bundleHash, trigger: run.trigger.kind },
      runId,
      deliveryId,
    });
  } catch (err) {
    const refusal = refusalOf(err);
    if (refusal) return { failed: `notify ${step.channel}: ${refusal}` };
    throw err;
  }
  await updateOpenStep(db, runId, index, { output: { deliveryId } });
  return { deliveryId };
}

function defaultMessage(run: ScenarioRunContext & { spec: ScenarioSpec }, failedSoFar: boolean): string {
  return failedSoFar ? `scenario "${run.scenario}" failed` : `scenario "${run.scenario}" succeeded`;
}

/**
 * Finishes the run (`finishScenarioRun`) and starts the scenarios that run after it. Run again on
 * every delivery: the dependents' run ids are derived from this run, so each starts once.
 */
export async function finishRunAndStartDependents(ctx: ServiceCtx, input: { runId: string; cancelled: boolean; error?: string | undefined; workflowId: string }): Promise<ScenarioRunResult> {
  const { runId } = input;
  const finished = await finishScenarioRun(ctx.db, input);
  const { first: _first, projectId, scenario, ...result } = finished;
  if (result.status !== 'succeeded' && result.status !== 'failed') return result;
  const triggered: string[] = [];
  for (const dependent of await dependentsOf(ctx.db, projectId, scenario, result.status)) {
    const started = await startScenarioRun({
      ctx,
      projectId,
      scenario: dependent.name,
      runId: runIdFor(`after_scenario:${runId}:${dependent.name}`),
      trigger: { kind: 'after_scenario', detail: { scenario, runId, outcome: result.status }, firedAt: new Date().toISOString() },
    });
    triggered.push(started.runId);
  }
  return { ...result, triggered };
}
