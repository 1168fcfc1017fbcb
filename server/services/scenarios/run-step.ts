import type { Db } from '@/db/client';
import type { ScenarioStep } from '@/server/pipeline';
import { assertNever } from '@/server/domain/assert-never';
import type { ScenarioStepOutcome } from '@/workflows/shared/scenario';
import type { ServiceCtx } from '../context';
import { ServiceError } from '../errors';
import { runStep, type StepAttempt, type StepLedger } from '../runs/step-engine';
import { runDriftStep } from './drift-step';
import { concludeRetrainShadow } from './retrain-shadow';
import { runPythonRetrainStep } from './retrain-python';
import { runRetrainStep } from './retrain-step';
import { claimScenarioStep, closeScenarioStep, loadScenarioRun, ScenarioRunError, updateOpenStep } from './run-state';
import { runChecksStep, runMetricsStep, runScoreStep, runSqlStep, StepRefused, type StepEnv, type StepResult } from './steps';

/**
 * What a step's attempt does: `run` it (the step kind's executor), or `resume` a step that stayed
 * open (a retrain's shadow period) now that its time has come.
 */
export type ScenarioStepPhase = { phase: 'run' } | { phase: 'resume'; cancelled: boolean };

/** Test seam: called before a step runs (a throw is a transient failure of that attempt). */
export type BeforeStep = (step: { runId: string; index: number; type: string; attempt: number }) => void | Promise<void>;

/**
 * One step of a scenario run, through the step engine (services/runs/step-engine.ts): claimed by
 * the attempt (idempotent by run and step), heartbeating, its log stored as it grows, closed once.
 * A step whose result has `resumeAt` stays open with its output, and the workflow calls again
 * (phase `resume`) when that time comes; a retried first phase of such a step answers from the
 * stored output instead of running again.
 */
export async function runScenarioStep(
  db: Db,
  ctx: ServiceCtx,
  attempt: StepAttempt,
  input: { runId: string; index: number } & ScenarioStepPhase,
  beforeStep?: BeforeStep,
): Promise<ScenarioStepOutcome> {
  const { runId, index } = input;
  const run = await loadScenarioRun(db, runId);
  const step = run.spec.steps[index];
  if (!step) throw new ScenarioRunError('run-not-found', `scenario run ${runId} has no step ${index}`);
  const ledger: StepLedger<ScenarioStepOutcome, ScenarioStep> = {
    claim: async () => {
      const claimed = await claimScenarioStep(db, runId, index, attempt.attempt);
      if (claimed.done) return { stored: { status: 'succeeded', ...(claimed.row.output ? { output: claimed.row.output } : {}) } };
      const resumeAt = (claimed.row.output as { resumeAt?: unknown } | null)?.resumeAt;
      if (input.phase === 'run' && typeof resumeAt === 'string') return { stored: { status: 'succeeded', output: claimed.row.output!, resumeAfterMs: msUntil(resumeAt) } };
      return { open: step, log: claimed.row.log };
    },
    refusalOf,
    saveLog: (log) => updateOpenStep(db, runId, index, { log }),
    close: ({ status, error, log, cause }) => closeScenarioStep(db, runId, index, { status, error, log, ...(cause instanceof StepRefused && cause.output ? { output: cause.output } : {}) }),
    cancelledError: 'the run was cancelled',
    liveLog: true,
  };
  return runStep(ledger, attempt, async (io, open) => {
    const env: StepEnv = { db, ctx, run, index, signal: attempt.signal, heartbeat: io.heartbeat, say: io.say };
    if (input.phase === 'run') await beforeStep?.({ runId, index, type: open.type, attempt: attempt.attempt });
    const result = input.phase === 'run' ? await execute(env, open) : await resume(env, open, input.cancelled);
    if (result.failure) throw new StepRefused(result.failure, result.output);
    if (result.resumeAt) {
      const output = { ...result.output, resumeAt: result.resumeAt };
      await updateOpenStep(db, runId, index, { output, log: io.log });
      return { status: 'succeeded', output, resumeAfterMs: msUntil(result.resumeAt) };
    }
    const output = { ...result.output, ...(input.phase === 'resume' ? { resumeAt: null } : {}) };
    await closeScenarioStep(db, runId, index, { status: 'succeeded', output, log: io.log });
    return { status: 'succeeded', output: result.output };
  });
}

const msUntil = (iso: string) => Math.max(0, Date.parse(iso) - Date.now());

/** The step kinds an activity runs (build, notify and run_scenario are run by the workflow itself). */
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

function resume(env: StepEnv, step: ScenarioStep, cancelled: boolean): Promise<StepResult> {
  if (step.type !== 'retrain' || !step.shadow) throw new Error(`step ${env.index} (${step.type}) has nothing to resume`);
  return concludeRetrainShadow(env, step, { cancelled });
}

/** A failure of the user's, as a sentence, or null for anything else (transient, or a bug). */
export function refusalOf(err: unknown): string | null {
  if (err instanceof StepRefused) return err.message;
  if (err instanceof ServiceError && (err.kind === 'Invalid' || err.kind === 'NotFound' || err.kind === 'PreconditionFailed' || err.kind === 'Conflict')) return err.message;
  return null;
}
