import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Db } from '@/db/client';
import type { ScenarioSpec, ScenarioStep } from '@/server/pipeline';
import { createProductionBuild } from '@/server/services/builds/start-production-build';
import type { ServiceCtx } from '@/server/services/context';
import { SandboxCancelled } from '@/server/services/datasets/sql-sandbox';
import { ServiceError } from '@/server/services/errors';
import { enqueueNotification } from '@/server/services/notifications/enqueue-notification';
import { concludeRetrainShadow, runRetrainStep } from '@/server/services/scenarios/retrain-step';
import { runPythonRetrainStep } from '@/server/services/scenarios/retrain-python';
import {
  admitScenarioRun,
  beginScenarioRun,
  claimScenarioStep,
  closeScenarioStep,
  dependentsOf,
  finishScenarioRun,
  loadScenarioRun,
  lockScenario,
  ScenarioRunError,
  updateOpenStep,
  type ScenarioRunContext,
} from '@/server/services/scenarios/run-state';
import { runIdFor, startScenarioRun } from '@/server/services/scenarios/start-scenario-run';
import { enqueueScenarioReports, recordScenarioReports } from '@/server/services/scenarios/reporters';
import { runDriftStep } from '@/server/services/scenarios/drift-step';
import { loadManifest, runChecksStep, runMetricsStep, runScoreStep, runSqlStep, StepRefused, type StepEnv, type StepResult } from '@/server/services/scenarios/steps';
import { assertNever } from '@/server/domain/assert-never';
import { createWorkflowStarter } from '../client';
import type { ScenarioActivities, ScenarioStepOutcome } from '../shared/scenario';
import { scenarioFailureTypes } from '../shared/scenario';

/** Test seam: called before a step's activity runs (a throw is a transient failure of that attempt). */
export type ScenarioActivityOptions = { beforeStep?: (step: { runId: string; index: number; type: string; attempt: number }) => void | Promise<void> };

const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Scenario activities: adapters from Temporal (attempts, cancellation, heartbeats, the worker's
 * client) to server/services/scenarios, which own the idempotency by (run, step).
 */
export function createScenarioActivities(db: Db, options: ScenarioActivityOptions = {}): ScenarioActivities {
  return {
    beginScenarioRun: (input) => mapErrors(() => beginScenarioRun(db, input, callingWorkflowId())),

    runScenarioStep: ({ runId, index }) => runStepActivity(db, options, runId, index, 'run', (env, step) => execute(env, step)),

    resumeScenarioStep: ({ runId, index, cancelled }) =>
      runStepActivity(db, options, runId, index, 'resume', (env, step) => {
        if (step.type !== 'retrain' || !step.shadow) throw new Error(`step ${index} (${step.type}) has nothing to resume`);
        return concludeRetrainShadow(env, step, { cancelled });
      }),

    async prepareScenarioBuild({ runId, index, buildRunId }) {
      const run = await mapErrors(() => loadScenarioRun(db, runId));
      const step = run.spec.steps[index] as Extract<ScenarioStep, { type: 'build' }>;
      await beforeStep(options, runId, index, 'build');
      const created = await createProductionBuild(db, workflowMeta(runId), {
        runId: buildRunId,
        projectId: run.projectId,
        bundleHash: run.bundleHash,
        manifest: await loadManifest(db, run),
        datasets: step.datasets,
        scenarioRunId: runId,
      });
      if (!created.ok) return { failed: created.message };
      await claimScenarioStep(db, runId, index, Context.current().info.attempt).catch(() => null);
      await updateOpenStep(db, runId, index, { childRunId: buildRunId, output: { buildRunId } });
      return { buildRunId, projectId: run.projectId };
    },

    async prepareChildScenario({ runId, index, childRunId }) {
      const run = await mapErrors(() => loadScenarioRun(db, runId));
      const step = run.spec.steps[index] as Extract<ScenarioStep, { type: 'run_scenario' }>;
      await beforeStep(options, runId, index, 'run_scenario');
      const admitted = await db.transaction(async (tx) => {
        const scenario = await lockScenario(tx, run.projectId, step.scenario);
        if (!scenario) return null;
        return admitScenarioRun(tx, workflowMeta(runId), { scenario, runId: childRunId, trigger: { kind: 'run_scenario', detail: { scenario: run.scenario, runId }, firedAt: new Date().toISOString() } });
      });
      await claimScenarioStep(db, runId, index, Context.current().info.attempt).catch(() => null);
      if (!admitted) return { admitted: false, projectId: run.projectId, scenario: step.scenario, reason: `scenario "${step.scenario}" is not deployed` };
      await updateOpenStep(db, runId, index, { childRunId, output: { childRunId } });
      return { admitted: admitted.status === 'queued', projectId: run.projectId, scenario: step.scenario, ...(admitted.reason ? { reason: admitted.reason } : {}) };
    },

    async prepareNotification({ runId, index, deliveryId, failedSoFar }) {
      const run = await mapErrors(() => loadScenarioRun(db, runId));
      const step = run.spec.steps[index] as Extract<ScenarioStep, { type: 'notify' }>;
      await beforeStep(options, runId, index, 'notify');
      await claimScenarioStep(db, runId, index, Context.current().info.attempt).catch(() => null);
      const outcome = failedSoFar ? 'failed' : 'succeeded';
      try {
        await enqueueNotification({
          ctx: serviceCtx(db, runId),
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
    },

    prepareScenarioReports: ({ runId, occasion }) => enqueueScenarioReports(serviceCtx(db, runId), runId, occasion),

    recordScenarioReports: ({ runId, reports }) => recordScenarioReports(db, runId, reports),

    closeScenarioStep: ({ runId, index, outcome }) => closeScenarioStep(db, runId, index, outcome),

    async finishScenarioRun({ runId, cancelled, error }) {
      const workflowId = callingWorkflowId();
      const finished = await mapErrors(() => finishScenarioRun(db, { runId, cancelled, error, workflowId }));
      const { first: _first, projectId, scenario, ...result } = finished;
      if (result.status !== 'succeeded' && result.status !== 'failed') return result;
      // Re-run on every delivery: the run ids are derived from this run, so a dependent starts once.
      const ctx = serviceCtx(db, runId);
      const triggered: string[] = [];
      for (const dependent of await dependentsOf(db, projectId, scenario, result.status)) {
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
    },
  };
}

/**
 * One step's activity: claims the step (idempotent by run and step), heartbeats, keeps its log, and
 * records the outcome. A step whose result has `resumeAt` stays open with its output, and the
 * workflow calls again (phase `resume`) when that time comes; a retried first phase of such a step
 * answers from the stored output instead of running again.
 */
async function runStepActivity(
  db: Db,
  options: ScenarioActivityOptions,
  runId: string,
  index: number,
  phase: 'run' | 'resume',
  fn: (env: StepEnv, step: ScenarioStep) => Promise<StepResult>,
): Promise<ScenarioStepOutcome> {
  const ctx = Context.current();
  const run = await mapErrors(() => loadScenarioRun(db, runId));
  const step = run.spec.steps[index];
  if (!step) throw ApplicationFailure.nonRetryable(`scenario run ${runId} has no step ${index}`, scenarioFailureTypes.runNotFound);
  const claimed = await mapErrors(() => claimScenarioStep(db, runId, index, ctx.info.attempt));
  if (claimed.done)
    return {
      status: 'succeeded',
      ...(claimed.row.output ? { output: claimed.row.output } : {}),
    };
  const resumeAt = (claimed.row.output as { resumeAt?: unknown } | null)?.resumeAt;
  if (phase === 'run' && typeof resumeAt === 'string')
    return {
      status: 'succeeded',
      output: claimed.row.output!,
      resumeAfterMs: Math.max(0, Date.parse(resumeAt) - Date.now()),
    };

  const log = [...claimed.row.log];
  const started = performance.now();
  const say = (line: string) => {
    log.push(`${((performance.now() - started) / 1000).toFixed(1)}s ${line}`);
    void updateOpenStep(db, runId, index, { log: [...log] }).catch(() => {});
  };
  if (ctx.info.attempt > 1) say(`attempt ${ctx.info.attempt}`);
  let details: unknown = 'starting';
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), HEARTBEAT_EVERY_MS);
  const env: StepEnv = {
    db,
    ctx: serviceCtx(db, runId),
    run,
    index,
    signal: ctx.cancellationSignal,
    heartbeat: (d) => ((details = d), ctx.heartbeat(d)),
    say,
  };
  try {
    if (phase === 'run')
      await options.beforeStep?.({
        runId,
        index,
        type: step.type,
        attempt: ctx.info.attempt,
      });
    const result = await fn(env, step);
    if (result.failure) {
      say(`failed: ${result.failure}`);
      await closeScenarioStep(db, runId, index, {
        status: 'failed',
        error: result.failure,
        output: result.output,
        log,
      });
      throw stepFailed(result.failure);
    }
    if (result.resumeAt) {
      const output = { ...result.output, resumeAt: result.resumeAt };
      await updateOpenStep(db, runId, index, { output, log });
      return {
        status: 'succeeded',
        output,
        resumeAfterMs: Math.max(0, Date.parse(result.resumeAt) - Date.now()),
      };
    }
    await closeScenarioStep(db, runId, index, {
      status: 'succeeded',
      output: {
        ...result.output,
        ...(phase === 'resume' ? { resumeAt: null } : {}),
      },
      log,
    });
    return { status: 'succeeded', output: result.output };
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (ctx.cancellationSignal.aborted || err instanceof SandboxCancelled) {
      if (ctx.cancellationDetails?.cancelRequested) {
        say('cancelled');
        await closeScenarioStep(db, runId, index, {
          status: 'cancelled',
          error: 'the run was cancelled',
          log,
        });
      }
      throw ctx.cancellationSignal.reason ?? err;
    }
    const refusal = refusalOf(err);
    if (refusal) {
      say(`failed: ${refusal}`);
      await closeScenarioStep(db, runId, index, {
        status: 'failed',
        error: refusal,
        log,
      });
      throw stepFailed(refusal);
    }
    say(`attempt ${ctx.info.attempt} failed: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

function execute(env: StepEnv, step: ScenarioStep): Promise<StepResult> {
  switch (step.type) {
    case 'checks':
      return runChecksStep(env, step);
    case 'metrics':
      return runMetricsStep(env, step);
    case 'sql':
      return runSqlStep(env, step);
    case 'score':
      return runScoreStep(env, step);
    case 'retrain':
      // A Python cell's model is retrained by running that cell again; any other from its train cell.
      return runPythonRetrainStep(env, step).then((done) => done ?? runRetrainStep(env, step));
    case 'drift':
      return runDriftStep(env, step);
    case 'build':
    case 'notify':
    case 'run_scenario':
      throw new Error(`a ${step.type} step is run by the workflow, not runScenarioStep`);
    default:
      return assertNever(step, 'scenario step type');
  }
}

function defaultMessage(run: ScenarioRunContext & { spec: ScenarioSpec }, failedSoFar: boolean): string {
  return failedSoFar ? `scenario "${run.scenario}" failed` : `scenario "${run.scenario}" succeeded`;
}

async function beforeStep(options: ScenarioActivityOptions, runId: string, index: number, type: string) {
  await options.beforeStep?.({ runId, index, type, attempt: Context.current().info.attempt });
}

/** A failure of the user's, as a sentence, or null for anything else (transient, or a bug). */
function refusalOf(err: unknown): string | null {
  if (err instanceof StepRefused) return err.message;
  if (err instanceof ServiceError && (err.kind === 'Invalid' || err.kind === 'NotFound' || err.kind === 'PreconditionFailed' || err.kind === 'Conflict')) return err.message;
  return null;
}

const stepFailed = (message: string) =>
  ApplicationFailure.create({ message, type: scenarioFailureTypes.stepFailed, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });

async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScenarioRunError) {
      if (err.type === 'step-failed') throw stepFailed(err.message);
      throw ApplicationFailure.nonRetryable(err.message, scenarioFailureTypes.runNotFound);
    }
    throw err;
  }
}

const workflowMeta = (runId: string) => ({ actor: { type: 'workflow' as const, workflowId: callingWorkflowId() }, requestId: runId, clientIp: null });

/** The services' context inside an activity: the workflow as actor, the worker's client to start runs. */
function serviceCtx(db: Db, runId: string): ServiceCtx {
  const info = Context.current().info;
  return { ...workflowMeta(runId), db, workflows: createWorkflowStarter(Context.current().client, info.taskQueue) };
}

function callingWorkflowId(): string {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('scenario activities must be scheduled by a workflow');
  return execution.workflowId;
}
