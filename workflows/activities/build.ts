import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '@/db/client';
import { beginBuildRun, closeBuildSteps, failFirstOpenStep, finishBuildRun } from '@/server/services/builds/build-run-state';
import { BuildStepError } from '@/server/services/builds/build-step-state';
import { DEFAULT_BUILD_STEP_OPTIONS, runBuildStep, type BuildStepOptions } from '@/server/services/builds/run-build-step';
import type { BuildActivities } from '../shared';
import { buildFailureTypes, DEFAULT_BUILD_PARALLELISM } from '../shared';
import { runStepChain } from './build-chain';
import { callingWorkflowId, stepActivity, stepFailure } from './step-attempt';

export type BuildActivityOptions = {
  parallelism?: number;
  step?: Partial<BuildStepOptions>;
  /** False: one activity per step, as before `buildStepChain` (benches compare). Default true. */
  chainSteps?: boolean;
};

/**
 * Build activities: thin adapters from Temporal (attempt, cancellation, heartbeats: `stepActivity`)
 * to the build services, which own the idempotency by (run, step) through the step engine; see
 * server/services/builds/run-build-step.ts and server/services/runs/step-engine.ts.
 */
export function createBuildActivities(db: Db, options: BuildActivityOptions = {}): BuildActivities {
  const stepOptions: BuildStepOptions = { ...DEFAULT_BUILD_STEP_OPTIONS, ...options.step };
  return {
    async beginBuild({ runId }) {
      const steps = await mapErrors(() => beginBuildRun(db, runId));
      return { steps, parallelism: options.parallelism ?? DEFAULT_BUILD_PARALLELISM, chainSteps: options.chainSteps !== false };
    },

    buildStep: ({ runId, stepId }) => mapErrors(() => stepActivity(buildFailureTypes.stepFailed, (attempt) => runBuildStep(db, { runId, stepId }, { ...attempt, options: stepOptions }))),

    buildStepChain: ({ runId, stepIds }) => runStepChain(db, { runId, stepIds }, stepOptions, mapErrors),

    async skipSteps({ runId, stepIds, reason }) {
      await mapErrors(() => closeBuildSteps(db, runId, stepIds, 'skipped', reason));
    },

    async failStep({ runId, stepId, error, then }) {
      if (then) return mapErrors(() => failFirstOpenStep(db, runId, [stepId, ...then], error));
      await mapErrors(() => closeBuildSteps(db, runId, [stepId], 'failed', error));
      return { failed: stepId, succeeded: [] };
    },

    async finishBuild({ runId, cancelled, error }) {
      return mapErrors(() => finishBuildRun(db, { runId, cancelled, error, workflowId: callingWorkflowId() }));
    },
  };
}

/** Business outcomes become non-retryable failures of their type; anything else is retried. */
async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof BuildStepError)) throw err;
    switch (err.type) {
      // A user's mistake (their SQL, their code, their checks) is an outcome, not an incident: benign
      // failures are logged at debug, not as worker warnings.
      case 'failed':
        throw stepFailure(err.message, buildFailureTypes.stepFailed);
      case 'already-finished':
        throw stepFailure(err.message, buildFailureTypes.stepAlreadyFinished);
      case 'stale-attempt':
        throw ApplicationFailure.nonRetryable(err.message, buildFailureTypes.staleAttempt);
      case 'run-not-found':
        throw ApplicationFailure.nonRetryable(err.message, buildFailureTypes.runNotFound);
    }
  }
}
